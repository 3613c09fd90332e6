//! The single-use tokens that mail carries (`account_tokens`, a tenant table): issued with the
//! message that carries them, superseded by a newer one, used at most once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use crate::{
    auth::account_token::{AccountToken, bound_to},
    entity::user,
    error::AppError,
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// What a token is for (`account_tokens.purpose`).
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
    /// Confirms, from the new mailbox, a change of the sign-in email ([`Carried`]).
    EmailChange,
    /// The `mfa_token` of a sign-in whose password was right and whose second factor is
    /// still to come; never mailed.
    MfaSignIn,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
            Purpose::EmailChange => "email_change",
            Purpose::MfaSignIn => "mfa_sign_in",
        }
    }

    /// What the token stops working without: the password it replaces, the address it
    /// confirms; an email change both the address it replaces and the password (a password
    /// change, by the owner or by a reset, ends a change an intruder may have asked for).
    fn binding(self, user: &user::Model) -> Vec<u8> {
        match self {
            // a password change ends a half-done sign-in with the old password
            Purpose::PasswordReset | Purpose::MfaSignIn => bound_to(&user.password_hash),
            Purpose::EmailVerification => bound_to(&user.email.to_lowercase()),
            Purpose::EmailChange => bound_to(&format!(
                "{}\n{}",
                user.email.to_lowercase(),
                user.password_hash
            )),
        }
    }
}

/// What a token carries beside its purpose: for an email change, the address it sets and the
/// session that asked for it (the one the change keeps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    pub new_email: Option<String>,
    pub session_id: Option<Uuid>,
}

/// Ends the user's live tokens of `purpose`, then stores `token` for them: one link works at a
/// time, the newest.
pub async fn issue(
    tx: &TenantTx,
    user: &user::Model,
    purpose: Purpose,
    token: &AccountToken,
    ttl_secs: u64,
) -> Result<(), AppError> {
    issue_carrying(tx, user, (purpose, Carried::default()), token, ttl_secs).await
}

/// [`issue`], for a token that carries what its confirmation will do.
pub async fn issue_carrying(
    tx: &TenantTx,
    user: &user::Model,
    (purpose, carried): (Purpose, Carried),
    token: &AccountToken,
    ttl_secs: u64,
) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE account_tokens SET ended_at = now(), ended_reason = 'superseded' \
         WHERE user_id = $1 AND purpose = $2 AND ended_at IS NULL",
        [user.id.into(), purpose.name().into()],
    ))
    .await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO account_tokens \
             (id, dealership_id, user_id, purpose, token_hash, bound_to, created_at, expires_at, \
              new_email, session_id) \
         VALUES ($1, $2, $3, $4, $5, $6, now(), now() + make_interval(secs => $7), $8, $9)",
        [
            token.id.into(),
            user.dealership_id.into(),
            user.id.into(),
            purpose.name().into(),
            token.hash().into(),
            purpose.binding(user).into(),
            (ttl_secs as f64).into(),
            carried.new_email.into(),
            carried.session_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The one refusal of a mailed token that does not work, whatever the reason (422 on `token`).
pub fn invalid() -> AppError {
    AppError::field("token", "is invalid or has expired")
}

/// A presented token and its owner, found before any tenant is known (its own short
/// transaction); [`invalid`] if it is malformed or names no token.
pub async fn presented(state: &AppState, raw: &str) -> Result<(AccountToken, Owner), AppError> {
    let token = AccountToken::parse(raw).ok_or_else(invalid)?;
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let owner = owner(&tx, token.id).await?;
    tx.commit().await?;
    Ok((token, owner.ok_or_else(invalid)?))
}

/// Whose token this id is, before any tenant is known (the definer lookup).
#[derive(Debug, FromQueryResult)]
pub struct Owner {
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
}

pub async fn owner(tx: &TenantTx, token_id: Uuid) -> Result<Option<Owner>, AppError> {
    Ok(Owner::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT user_id, dealership_id, group_id FROM auth_token_lookup($1)",
        [token_id.into()],
    ))
    .one(tx)
    .await?)
}

#[derive(Debug, FromQueryResult)]
struct Stored {
    user_id: Uuid,
    token_hash: Vec<u8>,
    bound_to: Vec<u8>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    new_email: Option<String>,
    session_id: Option<Uuid>,
}

/// Whether `token` is a live token of `purpose` for `user`: the right secret, not ended, not
/// expired, and still bound to what it was issued for (the password, the address).
pub async fn is_live(
    tx: &TenantTx,
    token: &AccountToken,
    purpose: Purpose,
    user: &user::Model,
) -> Result<bool, AppError> {
    Ok(live(tx, token, purpose, user).await?.is_some())
}

/// What a live `token` carries ([`is_live`]), `None` if it is not live.
pub async fn live(
    tx: &TenantTx,
    token: &AccountToken,
    purpose: Purpose,
    user: &user::Model,
) -> Result<Option<Carried>, AppError> {
    let stored = Stored::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT user_id, token_hash, bound_to, expires_at, ended_at, new_email, session_id \
         FROM account_tokens WHERE id = $1 AND purpose = $2",
        [token.id.into(), purpose.name().into()],
    ))
    .one(tx)
    .await?;
    Ok(stored
        .filter(|s| {
            token.matches(&s.token_hash)
                && s.user_id == user.id
                && s.ended_at.is_none()
                && s.expires_at > Utc::now()
                && s.bound_to == purpose.binding(user)
        })
        .map(|s| Carried {
            new_email: s.new_email,
            session_id: s.session_id,
        }))
}

/// Ends every live token of the user, whatever it is for (`reason`: why), e.g. once the
/// address the links went to is no longer theirs.
pub async fn end_all(tx: &TenantTx, user_id: Uuid, reason: &str) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE account_tokens SET ended_at = now(), ended_reason = $2 \
         WHERE user_id = $1 AND ended_at IS NULL",
        [user_id.into(), reason.into()],
    ))
    .await?;
    Ok(())
}

/// Uses the token: `true` for exactly one caller, however many try at once (the row lock
/// makes the others wait, and they then find it ended).
pub async fn consume(tx: &TenantTx, token: &AccountToken) -> Result<bool, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE account_tokens SET ended_at = now(), ended_reason = 'used' \
             WHERE id = $1 AND token_hash = $2 AND ended_at IS NULL AND expires_at > now()",
            [token.id.into(), token.hash().into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}
