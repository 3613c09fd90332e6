//! Password → a new session, signing in by email or by phone: throttled per sign-in name and
//! per client IP, the same answer and the same time for an unknown email or phone, a wrong
//! password and an inactive account.

use super::{
    Issued, count_login, issue, login_event,
    reauth::{Attempt, locked_now},
};
use crate::{
    auth::{password, principal::scope_of, sessions::Revoked, throttle},
    domain::SignInName,
    error::AppError,
    scope::RequestMeta,
    service::{audit, users},
    state::AppState,
    tenancy::Scope,
};

pub async fn login(
    state: &AppState,
    name: SignInName,
    password: String,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let ip = meta.ip.as_deref();
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let candidate = users::login_candidate(&tx, &name).await?;
    let locked = throttle::locked_for(&tx, &name, ip).await?;
    tx.commit().await?;
    let attempt = Attempt {
        state,
        name: &name,
        dealership_id: candidate.as_ref().and_then(|c| c.dealership_id),
        user_id: candidate.as_ref().map(|c| c.user_id),
        meta,
    };
    if let Some(retry_after_secs) = locked {
        return Err(attempt.refuse_locked(retry_after_secs).await);
    }

    // unknown names are checked against a dummy hash: same answer, same time
    let hash = candidate.as_ref().map_or_else(
        || state.auth.dummy_hash.clone(),
        |c| c.password_hash.clone(),
    );
    let matches = password::verify(password, hash).await?;
    // attempts sent all at once passed the first check together; the ones that waited for the
    // hasher while others failed are refused now, whatever their password
    if let Some(retry_after_secs) = locked_now(state, &name, ip).await? {
        return Err(attempt.refuse_locked(retry_after_secs).await);
    }
    let Some(candidate) = candidate.filter(|_| matches) else {
        return Err(attempt.failed("bad_credentials").await);
    };

    let tx = state.db.begin(scope_of(candidate.dealership_id)).await?;
    let Some(user) = users::find_signable(&tx, candidate.user_id).await? else {
        drop(tx);
        return Err(attempt.failed("inactive").await);
    };
    // said only to the one who knows the password
    if state.settings.auth.require_verified_email && user.email_verified_at.is_none() {
        drop(tx);
        count_login("unverified", &name);
        return Err(AppError::EmailNotVerified);
    }
    let refresh_token = super::open_session(state, &tx, &user, meta).await?;
    users::touch_last_login(&tx, user.id).await?;
    // the name used, and the account's other one: whoever knows the password may retry
    let mut names = users::sign_in_names(&user);
    if !names.contains(&name) {
        names.push(name.clone());
    }
    throttle::reset(&tx, &names).await?;
    audit::record(
        &tx,
        meta,
        login_event(
            "login.succeeded",
            user.dealership_id,
            Some(user.id),
            &name,
            Some(refresh_token.session_id),
        ),
    )
    .await?;
    tx.commit().await?;
    // last_login changed: this replica shows it at once (the trigger tells the others)
    state.auth.sessions.apply(Revoked::Profile(user.id)).await;
    count_login("success", &name);
    issue(state, user, refresh_token)
}
