//! Forgotten passwords: a request mails a single-use link (the same answer, and the same work,
//! whether or not the address has an account), and the link's token sets a new password once,
//! ending every session of the user on every replica and mailing a notice.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{
    auth::{
        account_token::AccountToken,
        password,
        principal::scope_of,
        sessions::{self as cache, Revoked},
        throttle::{self, Counter},
    },
    domain::{Email, NewPassword, SignInName},
    entity::user,
    error::AppError,
    mail::{Compose, Context, Kind, outbox},
    scope::RequestMeta,
    service::{
        account_tokens::{self, Purpose},
        audit, sessions, user_mail, users,
    },
    state::AppState,
    tenancy::Scope,
    tenancy::TenantTx,
};

/// Throttled per address and per client IP (429); otherwise queues a reset link if the address
/// belongs to a user who may sign in. The caller answers 202 whatever happened here.
pub async fn request(state: &AppState, email: Email, meta: &RequestMeta) -> Result<(), AppError> {
    let ip = meta.ip.as_deref();
    let tx = state.db.begin(Scope::Anonymous).await?;
    let counter = Counter::PasswordReset;
    let name = SignInName::from(email.clone());
    if let Some(retry_after_secs) = throttle::locked_counting(&tx, counter, &name, ip).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    throttle::record(&tx, counter, &state.settings.auth.lockout, &name, ip).await?;
    let candidate = users::login_candidate(&tx, &name).await?;
    tx.commit().await?;

    // an unknown address costs what a known one does: a token, a message, one transaction
    let token = AccountToken::generate();
    let dealership_id = candidate.as_ref().and_then(|c| c.dealership_id);
    let tx = state.db.begin(scope_of(dealership_id)).await?;
    let user = match &candidate {
        Some(c) => users::find_signable(&tx, c.user_id).await?,
        None => None,
    };
    let outcome = match &user {
        Some(user) => {
            let ttl = state.settings.mail.password_reset_ttl_secs;
            account_tokens::issue(&tx, user, Purpose::PasswordReset, &token, ttl).await?;
            let link = state.mail.reset_password_link(&token.expose());
            let ttl_secs = state.settings.mail.password_reset_ttl_secs;
            let message =
                user_mail::compose(state, &tx, Kind::PasswordReset, user, link, ttl_secs).await?;
            outbox::enqueue(&tx, message).await?;
            "sent"
        }
        None => {
            let link = state.mail.reset_password_link(&token.expose());
            let _ = state
                .mail
                .compose(sample(Kind::PasswordReset, &email, link))?;
            if candidate.is_some() {
                "inactive"
            } else {
                "unknown_email"
            }
        }
    };
    audit::record(
        &tx,
        meta,
        audit::Event {
            dealership_id,
            actor_id: None,
            action: "user.password_reset_requested",
            target_type: "user",
            target_id: candidate.as_ref().map(|c| c.user_id),
            changes: Some(serde_json::json!({"email": email.as_str(), "outcome": outcome})),
        },
    )
    .await?;
    tx.commit().await
}

/// Sets a new password with a reset token. Refused (422 on `token`) after use, after expiry,
/// after any other password change, for an inactive user or a suspended dealership.
pub async fn confirm(
    state: &AppState,
    raw_token: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let invalid = account_tokens::invalid;
    let (token, owner) = account_tokens::presented(state, raw_token).await?;
    let scope = scope_of(owner.dealership_id);

    // checked before the slow hash, in a transaction that ends before it
    let tx = state.db.begin_reading(scope).await?;
    let user = users::find_signable(&tx, owner.user_id).await?;
    let live = match &user {
        Some(user) => account_tokens::is_live(&tx, &token, Purpose::PasswordReset, user).await?,
        None => false,
    };
    tx.commit().await?;
    let user = user.filter(|_| live).ok_or_else(invalid)?;
    let new = NewPassword::parse(new_password, Some(&user.email))
        .map_err(|invalid| AppError::field("new_password", invalid.message()))?;
    let hash = password::hash(new.expose().to_owned()).await?;

    let tx = state.db.begin(scope).await?;
    // the token first: of two confirmations at once, the second waits here and then fails
    if !account_tokens::consume(&tx, &token).await?
        || !replace_password(&tx, &user, hash).await?
        || users::find_signable(&tx, user.id).await?.is_none()
    {
        return Err(invalid());
    }
    sessions::revoke_all(&tx, user.id, None, "password_reset").await?;
    cache::publish(&tx, Revoked::User(user.id)).await?;
    // proving the mailbox lifts a lockout of the account's logins, by email and by phone (not
    // the lock that wrong second-factor codes set: a mailbox is not the second factor)
    throttle::reset(&tx, &users::sign_in_names(&user)).await?;
    let notice =
        user_mail::compose(state, &tx, Kind::PasswordChanged, &user, String::new(), 0).await?;
    outbox::enqueue(&tx, notice).await?;
    audit::record(
        &tx,
        meta,
        audit::Event {
            dealership_id: user.dealership_id,
            actor_id: Some(user.id),
            action: "user.password_reset",
            target_type: "user",
            target_id: Some(user.id),
            changes: None,
        },
    )
    .await?;
    tx.commit().await?;
    state.auth.sessions.apply(Revoked::User(user.id)).await;
    Ok(())
}

/// The new hash, only over the hash the token was checked against: a password change that
/// slipped in between voids the reset.
async fn replace_password(
    tx: &TenantTx,
    user: &user::Model,
    hash: String,
) -> Result<bool, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET password_hash = $3, updated_at = $4 \
             WHERE id = $1 AND password_hash = $2",
            [
                user.id.into(),
                user.password_hash.clone().into(),
                hash.into(),
                Utc::now().into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The message an unknown address would have been sent, composed and thrown away.
fn sample(kind: Kind, email: &Email, link: String) -> Compose {
    Compose {
        kind,
        dealership_id: None,
        recipient: email.as_str().to_owned(),
        context: Context {
            first_name: String::new(),
            email: email.as_str().to_owned(),
            dealership: None,
            link,
            expires_minutes: 30,
            new_email: None,
            role: None,
        },
    }
}
