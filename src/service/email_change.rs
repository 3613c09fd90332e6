//! Changing one's own sign-in email: asked for with the current password, it mails a
//! single-use confirmation link to the new address and a notice to the old one, and changes
//! nothing until the new mailbox confirms. Confirming re-checks that the address is free, marks
//! it verified, ends the account's other sessions and every link mailed to the old address.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{
    auth::{
        account_token::AccountToken,
        principal::scope_of,
        sessions::{self as cache, Revoked},
        throttle::{self, Counter, Who},
    },
    domain::{Email, SignInName},
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::{Grant, RequestMeta, RequestScope},
    service::{
        account::{me, own_event, signable, stored_email},
        account_tokens::{self, Carried, Purpose},
        audit, sessions, sign_in, user_mail, users,
    },
    state::AppState,
    tenancy::TenantTx,
};

/// Mails the confirmation link to `new_email` and a notice to the caller's address. The
/// current password is checked first (throttled like a login); messages to one new address
/// are throttled too (429), so nobody can flood a stranger's mailbox. Whether the address is
/// taken is not said here (that would tell the caller who has an account): the confirmation
/// says it (409) to the one who holds the new mailbox.
pub async fn request(
    state: &AppState,
    grant: &Grant,
    new_email: Email,
    current_password: String,
) -> Result<(), AppError> {
    crate::service::mfa::require_step_up(state, grant.caller()).await?;
    let user = signable(state, grant).await?;
    if new_email.as_str() == user.email.to_lowercase() {
        return Err(AppError::field("new_email", "is your email already"));
    }
    let signed_in_as = stored_email(&user)?;
    sign_in::verify_current_password(
        state,
        grant.caller(),
        &signed_in_as,
        current_password,
        user.password_hash,
    )
    .await?;

    let scope = state.open(grant).await?;
    throttle_messages_to(state, &scope, &new_email).await?;
    // read again under the scope: the link is bound to the address and password it replaces
    let user = me(&scope).await?;
    let token = AccountToken::generate();
    let ttl_secs = state.settings.mail.email_change_ttl_secs;
    let carried = Carried {
        new_email: Some(new_email.as_str().to_owned()),
        session_id: Some(grant.caller().session_id),
    };
    let tx = scope.tx();
    account_tokens::issue_carrying(tx, &user, (Purpose::EmailChange, carried), &token, ttl_secs)
        .await?;

    let mut notice = user_mail::letter(tx, Kind::EmailChangeRequested, &user).await?;
    notice.context.new_email = Some(new_email.as_str().to_owned());
    let mut confirmation = notice.clone();
    confirmation.kind = Kind::ConfirmEmailChange;
    confirmation.recipient = new_email.as_str().to_owned();
    confirmation.context.link = state.mail.confirm_email_link(&token.expose());
    confirmation.context.expires_minutes = ttl_secs.div_ceil(60);
    outbox::enqueue(tx, state.mail.compose(confirmation)?).await?;
    outbox::enqueue(tx, state.mail.compose(notice)?).await?;

    let changes = serde_json::json!({"new_email": new_email.as_str()});
    let event = own_event("user.email_change_requested", grant, Some(changes));
    audit::record_in(&scope, event).await?;
    scope.commit().await
}

/// Counts a message to `new_email` (and from this client) like a failed login, counted and
/// checked in one statement: past the lockout's threshold, 429 until it cools down.
async fn throttle_messages_to(
    state: &AppState,
    scope: &RequestScope,
    new_email: &Email,
) -> Result<(), AppError> {
    let (tx, ip) = (scope.tx(), scope.meta().ip.as_deref());
    let (counter, to) = (Counter::EmailChange, SignInName::from(new_email.clone()));
    let lockout = &state.settings.auth.lockout;
    match throttle::take(tx, counter, lockout, Who::Name(&to), ip).await? {
        Some(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// Makes the address a confirmation link carries the user's sign-in email. Refused (422 on
/// `token`) after use, after expiry, once the email or the password changed otherwise, for an
/// inactive user or a suspended dealership; 409 if the address has become another account's
/// (the link then stays usable, should that account go).
pub async fn confirm(
    state: &AppState,
    raw_token: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let invalid = account_tokens::invalid;
    let (token, owner) = account_tokens::presented(state, raw_token).await?;

    let tx = state
        .db
        .begin(scope_of(owner.dealership_id, owner.group_id))
        .await?;
    let Some(user) = users::find_signable(&tx, owner.user_id).await? else {
        return Err(invalid());
    };
    let Some(carried) = account_tokens::live(&tx, &token, Purpose::EmailChange, &user).await?
    else {
        return Err(invalid());
    };
    let new_email = carried.new_email.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("an email change without its address"))
    })?;
    // the token first: of two confirmations at once, the second waits here and then fails
    if !account_tokens::consume(&tx, &token).await?
        || !replace_email(&tx, &user, &new_email).await?
    {
        return Err(invalid());
    }
    // whatever was mailed to the old address (a reset link, a verification) is not theirs now
    account_tokens::end_all(&tx, user.id, "email_changed").await?;
    // every sign-in of the person ends, in every dealership, but the one that asked
    let keep = match carried.session_id {
        Some(sid) => sessions::sign_in_of(&tx, sid).await?,
        None => None,
    };
    sessions::end_person(&tx, user.person_id, (None, keep), "email_changed").await?;
    cache::publish(&tx, Revoked::Person(user.person_id)).await?;
    let changes = serde_json::json!({"email": {"before": user.email, "after": new_email}});
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "user.email_changed",
        target_type: "user",
        target_id: Some(user.id),
        changes: Some(changes),
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

/// The new address, verified (its mailbox just proved itself), and a new token version (every
/// outstanding access token ends; the asking session refreshes). Only over the address and
/// password the token was checked against; 409 if the address is taken by now.
async fn replace_email(
    tx: &TenantTx,
    user: &user::Model,
    new_email: &str,
) -> Result<bool, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE people SET email = $3, email_verified_at = now(), \
                 token_version = token_version + 1, updated_at = $4 \
             WHERE id = $1 AND email = $2 AND password_hash = $5 AND deleted_at IS NULL",
            [
                user.person_id.into(),
                user.email.clone().into(),
                new_email.into(),
                Utc::now().into(),
                user.password_hash.clone().into(),
            ],
        ))
        .await
        .map_err(users::conflict_if_taken)?;
    Ok(done.rows_affected() == 1)
}
