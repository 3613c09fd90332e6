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
        throttle::{self, Counter, Who},
    },
    domain::{Email, NewPassword, SignInName},
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::RequestMeta,
    service::{
        account_tokens::{self, Purpose},
        audit, sessions, user_mail, users,
    },
    state::AppState,
    tenancy::Scope,
    tenancy::TenantTx,
};

/// Throttled per address and per client IP (429, counted and checked in one statement, so a
/// burst queues no more links than the limit). Otherwise the caller answers 202 at once, the
/// same work done for any address, and the link is queued after the answer if the address
/// belongs to a user who may sign in ([`queue_link`]).
pub async fn request(state: &AppState, email: Email, meta: &RequestMeta) -> Result<(), AppError> {
    let name = SignInName::from(email.clone());
    let (lockout, ip) = (&state.settings.auth.lockout, meta.ip.as_deref());
    throttle::take_now(
        &state.db,
        Counter::PasswordReset,
        lockout,
        Who::Name(&name),
        ip,
    )
    .await?;
    let (owned, meta) = (state.clone(), meta.clone());
    state
        .after_answer
        .spawn("queueing a reset link", async move {
            queue_link(&owned, email, &meta).await
        });
    Ok(())
}

/// Queues a reset link if `email` belongs to a user who may sign in, and audits the request
/// either way.
async fn queue_link(state: &AppState, email: Email, meta: &RequestMeta) -> Result<(), AppError> {
    let name = SignInName::from(email.clone());
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let candidate = users::login_candidate(&tx, &name).await?;
    tx.commit().await?;

    let token = AccountToken::generate();
    // the link opens the membership used last (the password is the person's)
    let entered = candidate.as_ref().and_then(|c| c.choose(None));
    let (dealership_id, group_id) = (
        entered.and_then(|m| m.dealership_id),
        entered.and_then(|m| m.group_id),
    );
    let tx = state.db.begin(scope_of(dealership_id, group_id)).await?;
    let user = match entered {
        Some(m) => users::find_signable(&tx, m.user_id).await?,
        None => None,
    };
    let outcome = match &user {
        Some(user) => {
            let ttl = state.settings.mail.password_reset_ttl_secs;
            account_tokens::issue(&tx, user, Purpose::PasswordReset, &token, ttl).await?;
            let link = state.mail.reset_password_link(&token.expose());
            let message =
                user_mail::compose(state, &tx, Kind::PasswordReset, user, link, ttl).await?;
            outbox::enqueue(&tx, message).await?;
            "sent"
        }
        None if candidate.is_some() => "inactive",
        None => "unknown_email",
    };
    audit::record(
        &tx,
        meta,
        audit::Event {
            dealership_id,
            actor_id: None,
            action: "user.password_reset_requested",
            target_type: "user",
            target_id: user.as_ref().map(|u| u.id),
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
    let scope = scope_of(owner.dealership_id, owner.group_id);

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
    sessions::end_person(&tx, user.person_id, (None, None), "password_reset").await?;
    cache::publish(&tx, Revoked::Person(user.person_id)).await?;
    // proving the mailbox lifts a lockout of the account's logins, by email and by phone (not
    // the lock that wrong second-factor codes set: a mailbox is not the second factor)
    throttle::reset(&tx, &users::sign_in_names(&user)).await?;
    let notice =
        user_mail::compose(state, &tx, Kind::PasswordChanged, &user, String::new(), 0).await?;
    outbox::enqueue(&tx, notice).await?;
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "user.password_reset",
        target_type: "user",
        target_id: Some(user.id),
        changes: None,
    };
    audit::record_for_person(&tx, meta, event, user.person_id).await?;
    tx.commit().await?;
    state
        .auth
        .sessions
        .apply(Revoked::Person(user.person_id))
        .await;
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
            "UPDATE people SET password_hash = $3, updated_at = $4 \
             WHERE id = $1 AND password_hash = $2",
            [
                user.person_id.into(),
                user.password_hash.clone().into(),
                hash.into(),
                Utc::now().into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}
