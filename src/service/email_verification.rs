//! Verified addresses: a new user is mailed a link whose single-use token sets
//! `users.email_verified_at`; a signed-in user may ask for a new link (throttled). With
//! `auth.require_verified_email`, login waits for it (see `sign_in::login`).

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{
    auth::{
        account_token::AccountToken,
        principal::scope_of,
        sessions::Revoked,
        throttle::{self, Counter, Who},
    },
    domain::{Email, SignInName},
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::{RequestMeta, RequestScope},
    service::{
        account::me,
        account_tokens::{self, Purpose},
        audit, user_mail, users,
    },
    state::AppState,
    tenancy::TenantTx,
};

/// Issues a verification token for `user` (voiding older ones) and queues its link in `tx`.
/// The change that asks for it is audited by its caller (`user.created`, a resend).
pub async fn send_in(state: &AppState, tx: &TenantTx, user: &user::Model) -> Result<(), AppError> {
    let token = AccountToken::generate();
    let ttl_secs = state.settings.mail.verify_email_ttl_secs;
    account_tokens::issue(tx, user, Purpose::EmailVerification, &token, ttl_secs).await?;
    let link = state.mail.verify_email_link(&token.expose());
    let message = user_mail::compose(state, tx, Kind::VerifyEmail, user, link, ttl_secs).await?;
    outbox::enqueue(tx, message).await?;
    Ok(())
}

/// A new link for the caller, unless their address is verified already (nothing is sent then,
/// and the answer is the same). Throttled per address and per client IP (429).
pub async fn resend(state: &AppState, scope: &RequestScope) -> Result<(), AppError> {
    let user = me(scope).await?;
    let email: SignInName = Email::parse(&user.email)
        .map_err(AppError::internal)?
        .into();
    let ip = scope.meta().ip.as_deref();
    let lockout = &state.settings.auth.lockout;
    let counter = Counter::VerificationResend;
    if let Some(retry_after_secs) =
        throttle::take(scope.tx(), counter, lockout, Who::Name(&email), ip).await?
    {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    if user.email_verified_at.is_none() {
        send_in(state, scope.tx(), &user).await?;
        let mut sent = event("user.verification_sent", &user, None);
        sent.actor_id = Some(user.id);
        audit::record_in(scope, sent).await?;
    }
    Ok(())
}

/// Marks the address verified with a mailed token. Refused (422 on `token`) after use, after
/// expiry, after the address changed, for an inactive user or a suspended dealership.
pub async fn verify(state: &AppState, raw_token: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let invalid = account_tokens::invalid;
    let (token, owner) = account_tokens::presented(state, raw_token).await?;

    let tx = state
        .db
        .begin(scope_of(owner.dealership_id, owner.group_id))
        .await?;
    let Some(user) = users::find_signable(&tx, owner.user_id).await? else {
        return Err(invalid());
    };
    if !account_tokens::is_live(&tx, &token, Purpose::EmailVerification, &user).await?
        || !account_tokens::consume(&tx, &token).await?
    {
        return Err(invalid());
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE people SET email_verified_at = coalesce(email_verified_at, now()) \
         WHERE id = $1 AND lower(email) = lower($2)",
        [user.person_id.into(), user.email.clone().into()],
    ))
    .await?;
    let changes = serde_json::json!({"email": user.email});
    audit::record(
        &tx,
        meta,
        event("user.email_verified", &user, Some(changes)),
    )
    .await?;
    tx.commit().await?;
    // email_verified_at changed: this replica shows it at once (the trigger tells the others)
    state.auth.sessions.apply(Revoked::Profile(user.id)).await;
    Ok(())
}

fn event(
    action: &'static str,
    user: &user::Model,
    changes: Option<serde_json::Value>,
) -> audit::Event {
    audit::Event {
        dealership_id: user.dealership_id,
        actor_id: None,
        action,
        target_type: "user",
        target_id: Some(user.id),
        changes,
    }
}
