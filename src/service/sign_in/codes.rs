//! The throttle around second-factor codes: the same lockout as passwords. A user's code checks
//! run one at a time (a transaction-scoped advisory lock), each asks the lockout again under
//! the lock, and a wrong code is counted in the same transaction before the lock is let go, so
//! a burst of guesses sent at once is counted exactly like a sequence of them.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::{count_login, login_event, name_record, reauth::Attempt};
use crate::{
    auth::throttle,
    domain::{Email, SignInName},
    entity::user,
    error::AppError,
    scope::RequestMeta,
    service::{audit, users},
    state::AppState,
    tenancy::TenantTx,
};

/// The name code failures are counted under: the account's email (the account's other name,
/// its phone, is asked for a lock too).
fn counted_name(user: &user::Model) -> Result<SignInName, AppError> {
    Ok(SignInName::Email(
        Email::parse(&user.email).map_err(AppError::internal)?,
    ))
}

/// Waits in `tx` for the user's other code checks to finish; then the seconds the account (by
/// any of its names) or the client's address is locked for, if it is.
pub async fn code_lock(
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
) -> Result<Option<u64>, AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [format!("mfa-code:{}", user.id).into()],
    ))
    .await?;
    let mut locked = None;
    for name in users::sign_in_names(user) {
        locked = locked.max(throttle::locked_for(tx, &name, meta.ip.as_deref()).await?);
    }
    Ok(locked)
}

/// The 429 of a code tried while locked, audited (call it once the code's transaction ended).
pub async fn refuse_locked_code(
    state: &AppState,
    user: &user::Model,
    meta: &RequestMeta,
    retry_after_secs: u64,
) -> AppError {
    let name = match counted_name(user) {
        Ok(name) => name,
        Err(err) => return err,
    };
    let attempt = Attempt {
        state,
        name: &name,
        dealership_id: user.dealership_id,
        user_id: Some(user.id),
        meta,
    };
    attempt.refuse_locked(retry_after_secs).await
}

/// Counts and audits a wrong (or replayed) code in `tx`, the transaction holding the user's
/// code lock: commit it, then answer [`wrong_code_answer`] with what this returns.
pub async fn count_wrong_code(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
) -> Result<u32, AppError> {
    let name = counted_name(user)?;
    let lockout = &state.settings.auth.lockout;
    let failures = throttle::record_failure(tx, lockout, &name, meta.ip.as_deref()).await?;
    let mut event = login_event(
        "mfa.verification_failed",
        user.dealership_id,
        Some(user.id),
        &name,
        None,
    );
    let mut changes = name_record(&name);
    changes["reason"] = "wrong_code".into();
    event.changes = Some(changes);
    audit::record(tx, meta, event).await?;
    count_login("failure", &name);
    crate::service::mfa::count("verification_failed");
    Ok(failures)
}

/// The progressive delay of the `failures`-th failure, then the refusal every wrong code gets.
pub async fn wrong_code_answer(state: &AppState, failures: u32) -> AppError {
    tokio::time::sleep(throttle::delay(&state.settings.auth.lockout, failures)).await;
    AppError::Unauthenticated
}
