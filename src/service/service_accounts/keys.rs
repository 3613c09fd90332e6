//! The API keys of a service account: `dg_<key id>_<secret>`, 256 random bits stored as their
//! SHA-256 and shown once, each with an expiry of at most a year. A rotation issues a new key
//! and moves every older live key's expiry to the end of the overlap
//! (`service_accounts.key_overlap_secs`).

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{Described, find, get, record};
use crate::{
    auth::{service_accounts::KEY_PREFIX, sessions::Revoked},
    config::{MAX_KEY_DAYS, ServiceAccountSettings},
    entity::{service_account, service_account_key},
    error::AppError,
    scope::RequestScope,
    service::{oauth::client::new_secret, users::manage::outranks},
};

/// A key just made: the whole API key, shown this once.
pub struct IssuedKey {
    pub key: service_account_key::Model,
    /// `dg_<key id>_<secret>`.
    pub api_key: String,
    /// The secret alone: the `client_secret` of the client-credentials grant (whose
    /// `client_id` is the key id).
    pub secret: String,
}

/// How many days a key lives: the asked number (1–365) or the configured default.
pub(super) fn lifetime(
    asked: Option<i64>,
    settings: &ServiceAccountSettings,
) -> Result<u32, AppError> {
    match asked.map(u32::try_from) {
        None => Ok(settings.key_ttl_days),
        Some(Ok(days)) if (1..=MAX_KEY_DAYS).contains(&days) => Ok(days),
        Some(_) => Err(AppError::field(
            "expires_in_days",
            "must be between 1 and 365",
        )),
    }
}

pub(super) async fn issue(
    scope: &RequestScope,
    account: &service_account::Model,
    days: u32,
) -> Result<IssuedKey, AppError> {
    let (secret, hash) = new_secret();
    let now = Utc::now();
    let key = service_account_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        service_account_id: Set(account.id),
        dealership_id: Set(account.dealership_id),
        group_id: Set(account.group_id),
        secret_hash: Set(hash),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(i64::from(days))),
        ..Default::default()
    }
    .insert(scope.tx())
    .await?;
    let api_key = format!("{KEY_PREFIX}{}_{secret}", key.id);
    Ok(IssuedKey {
        key,
        api_key,
        secret,
    })
}

/// A live account the caller may act on (404 beyond reach, 403 above their rank, 409 ended).
async fn live_account(scope: &RequestScope, id: Uuid) -> Result<service_account::Model, AppError> {
    let account = find(scope, id).await?;
    outranks(scope.principal(), account.role)?;
    if account.revoked_at.is_some() || account.disabled_at.is_some() {
        return Err(AppError::Conflict(
            "the service account is revoked or disabled".into(),
        ));
    }
    Ok(account)
}

/// A new key for account `id` (shown once); its older live keys work until the overlap ends.
/// Needs a recent second factor.
pub async fn rotate(
    scope: &RequestScope,
    id: Uuid,
    expires_in_days: Option<i64>,
    settings: &ServiceAccountSettings,
) -> Result<(Described, IssuedKey), AppError> {
    let account = live_account(scope, id).await?;
    scope.require_step_up().await?;
    let days = lifetime(expires_in_days, settings)?;
    let overlap_secs = i64::try_from(settings.key_overlap_secs).unwrap_or(i64::MAX);
    let until = Utc::now() + Duration::seconds(overlap_secs);
    let older = service_account_key::Entity::find()
        .filter(service_account_key::Column::ServiceAccountId.eq(id))
        .filter(service_account_key::Column::RevokedAt.is_null())
        .filter(Condition::all().add(service_account_key::Column::ExpiresAt.gt(until)))
        .all(scope.tx())
        .await?;
    for key in older {
        let key_id = key.id;
        let mut shortened = key.into_active_model();
        shortened.expires_at = Set(until);
        shortened.update(scope.tx()).await?;
        scope.revoke(Revoked::Session(key_id)).await?;
    }
    let issued = issue(scope, &account, days).await?;
    let changes = json!({
        "key_id": issued.key.id,
        "expires_at": issued.key.expires_at,
        "previous_keys_expire_at": until,
    });
    record(
        scope,
        "service_account.key_rotated",
        &account,
        Some(changes),
    )
    .await?;
    Ok((get(scope, id).await?, issued))
}

/// Ends key `key_id` of account `id` at once, on every replica at commit.
pub async fn revoke_key(
    scope: &RequestScope,
    id: Uuid,
    key_id: Uuid,
) -> Result<Described, AppError> {
    let account = find(scope, id).await?;
    outranks(scope.principal(), account.role)?;
    let key = service_account_key::Entity::find_by_id(key_id)
        .filter(service_account_key::Column::ServiceAccountId.eq(id))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("key"))?;
    if key.revoked_at.is_some() {
        return Err(AppError::Conflict("the key is revoked already".into()));
    }
    let mut ended = key.into_active_model();
    ended.revoked_at = Set(Some(Utc::now()));
    ended.update(scope.tx()).await?;
    scope.revoke(Revoked::Session(key_id)).await?;
    let changes = json!({ "key_id": key_id });
    record(
        scope,
        "service_account.key_revoked",
        &account,
        Some(changes),
    )
    .await?;
    get(scope, id).await
}
