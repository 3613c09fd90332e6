//! The throttle around every password check: a locked account or address gets 429, a failure
//! is counted, audited and delayed, and a signed-in user's current password is checked the same
//! way before a sensitive change.

use uuid::Uuid;

use super::{count_login, login_event};
use crate::{
    auth::{password, principal::scope_of, throttle},
    domain::Email,
    error::AppError,
    scope::{Caller, RequestMeta},
    service::audit,
    state::AppState,
    tenancy::Scope,
};

/// Checks the signed-in user's current password before a sensitive change, under the same
/// throttle as logins: locked → 429; wrong → counted, and 422 naming `current_password`.
pub async fn verify_current_password(
    state: &AppState,
    caller: &Caller,
    email: &Email,
    current: String,
    hash: String,
) -> Result<(), AppError> {
    let (me, meta) = (&caller.principal, &caller.meta);
    if let Some(retry_after_secs) = locked_now(state, email, meta.ip.as_deref()).await? {
        return Err(refuse_locked(
            state,
            email,
            me.dealership_id,
            Some(me.user_id),
            retry_after_secs,
            meta,
        )
        .await);
    }
    if password::verify(current, hash).await? {
        return Ok(());
    }
    match failed(
        state,
        email,
        me.dealership_id,
        Some(me.user_id),
        "wrong_current_password",
        meta,
    )
    .await
    {
        AppError::Unauthenticated => {
            Err(AppError::Validation(vec![crate::error::FieldError::new(
                "current_password",
                "is not correct",
            )]))
        }
        other => Err(other),
    }
}

/// Seconds until the account or IP is unlocked, asked again (its own short transaction).
pub async fn locked_now(
    state: &AppState,
    email: &Email,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    let tx = state.db.begin(Scope::Anonymous).await?;
    let locked = throttle::locked_for(&tx, email, ip).await?;
    tx.commit().await?;
    Ok(locked)
}

/// Audits a locked attempt and gives the 429 every locked attempt gets.
pub(super) async fn refuse_locked(
    state: &AppState,
    email: &Email,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    retry_after_secs: u64,
    meta: &RequestMeta,
) -> AppError {
    let recorded = async {
        let tx = state.db.begin(scope_of(dealership_id)).await?;
        audit::record(
            &tx,
            meta,
            login_event("login.locked", dealership_id, user_id, email, None),
        )
        .await?;
        tx.commit().await
    };
    count_login("locked");
    match recorded.await {
        Ok(()) => AppError::RateLimited { retry_after_secs },
        Err(err) => err,
    }
}

/// Counts and audits a failed login, waits the progressive delay, and gives the one answer
/// every failure gets.
pub(super) async fn failed(
    state: &AppState,
    email: &Email,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    reason: &str,
    meta: &RequestMeta,
) -> AppError {
    let recorded = async {
        let tx = state.db.begin(scope_of(dealership_id)).await?;
        let failures =
            throttle::record_failure(&tx, &state.settings.auth.lockout, email, meta.ip.as_deref())
                .await?;
        let mut event = login_event("login.failed", dealership_id, user_id, email, None);
        event.changes = Some(serde_json::json!({"email": email.as_str(), "reason": reason}));
        audit::record(&tx, meta, event).await?;
        tx.commit().await?;
        Ok::<_, AppError>(failures)
    };
    count_login("failure");
    match recorded.await {
        Ok(failures) => {
            tokio::time::sleep(throttle::delay(&state.settings.auth.lockout, failures)).await;
            AppError::Unauthenticated
        }
        Err(err) => err,
    }
}
