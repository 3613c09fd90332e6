//! Service accounts at the door: an API key (`dg_<key id>_<secret>`) or a client-credentials
//! access token becomes a [`Principal`](super::principal::Principal) that says it is a machine.
//!
//! A key's state (its hash, expiry, account, and whether both are live) is cached per replica
//! beside the sessions, under the same rules ([`super::sessions`]): nothing cached while not
//! listening, and every revocation notice drops what it names — `session:<key id>` a key,
//! `user:<account id>` every key of an account, `dealership:<id>` every key of a dealership —
//! so a revoked key or account dies on every replica at once. The last use of a key is written
//! at most once a minute per replica (a gate here; the SQL checks the minute again), and the
//! rate limit per account is counted here too (per replica).

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use moka::future::Cache;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{revoked::Revoked, sessions::Freshness};
use crate::{domain::Role, error::AppError, tenancy::TenantTx};

/// What an API key starts with.
pub const KEY_PREFIX: &str = "dg_";

/// Who a machine caller is, as audit events record it beside the account itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceActor {
    /// The service account.
    pub id: Uuid,
    /// The membership that made it.
    pub created_by: Uuid,
}

/// A key and its account, as the per-request check needs them.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct KeyState {
    pub key_id: Uuid,
    pub service_account_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub role: Role,
    pub custom_role_id: Option<Uuid>,
    pub created_by: Uuid,
    pub secret_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    /// Key and account neither revoked nor disabled, the dealership active.
    pub live: bool,
}

impl KeyState {
    /// Live and not expired now.
    pub fn usable(&self) -> bool {
        self.live && self.expires_at > Utc::now()
    }

    /// Whether `secret` is this key's, compared in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        let presented = Sha256::digest(secret.as_bytes());
        bool::from(presented[..].ct_eq(&self.secret_hash))
    }

    pub fn actor(&self) -> ServiceActor {
        ServiceActor {
            id: self.service_account_id,
            created_by: self.created_by,
        }
    }
}

/// `dg_<key id>_<secret>` split into the key id and the secret; `None` for anything else.
pub fn parse_key(token: &str) -> Option<(Uuid, &str)> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id = Uuid::try_parse(id).ok()?;
    (!secret.is_empty() && secret.len() <= 128).then_some((id, secret))
}

/// Key `key_id` through the definer lookup (no tenant is known yet).
pub async fn load(tx: &TenantTx, key_id: Uuid) -> Result<Option<KeyState>, AppError> {
    Ok(KeyState::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT key_id, service_account_id, dealership_id, group_id, role, custom_role_id, \
                created_by, secret_hash, expires_at, live \
         FROM service_account_key($1)",
        [key_id.into()],
    ))
    .one(tx)
    .await?)
}

/// Records the key's use (and its account's) unless the last one is under a minute old.
pub async fn record_use(tx: &TenantTx, key_id: Uuid, ip: Option<String>) -> Result<(), AppError> {
    use sea_orm::ConnectionTrait;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT service_account_key_used($1, $2)",
        [key_id.into(), ip.into()],
    ))
    .await?;
    Ok(())
}

/// The per-replica state of machine callers: their keys, when each was last recorded as used,
/// and each account's rate limiter.
#[derive(Clone)]
pub struct MachineCache {
    keys: Cache<Uuid, KeyState>,
    used: moka::sync::Cache<Uuid, ()>,
    limits: moka::sync::Cache<Uuid, Arc<DefaultDirectRateLimiter>>,
    freshness: Freshness,
}

/// How often a key's last use is written, at most.
const USE_RECORDED_EVERY: Duration = Duration::from_secs(60);

impl MachineCache {
    /// At most `capacity` keys, as many last-use gates and as many accounts' limiters.
    pub(super) fn new(ttl: Duration, capacity: u64, freshness: Freshness) -> Self {
        Self {
            keys: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            used: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(USE_RECORDED_EVERY)
                .build(),
            limits: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(120))
                .build(),
            freshness,
        }
    }

    /// Key `key_id`'s state, from the cache or from `load` (`None`: no such key).
    pub async fn key<F>(&self, key_id: Uuid, load: F) -> Result<Option<KeyState>, AppError>
    where
        F: Future<Output = Result<Option<KeyState>, AppError>>,
    {
        let (state, _) = self.freshness.get_or_load(&self.keys, key_id, load).await?;
        Ok(state)
    }

    /// Whether this key's use should be written now: once a minute per key and replica.
    pub fn due_for_use_record(&self, key_id: Uuid) -> bool {
        let mut due = false;
        self.used.get_with(key_id, || due = true);
        due
    }

    /// `Err(seconds to wait)` once account `id` made `per_minute` requests within the minute
    /// on this replica; 0 means no limit.
    pub fn take(&self, id: Uuid, per_minute: u32) -> Result<(), u64> {
        let Some(per_minute) = NonZeroU32::new(per_minute) else {
            return Ok(());
        };
        let limiter = self.limits.get_with(id, || {
            Arc::new(RateLimiter::direct(Quota::per_minute(per_minute)))
        });
        limiter.check().map_err(|not_until| {
            let clock = governor::clock::DefaultClock::default();
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&clock));
            wait.as_secs().max(1)
        })
    }

    /// Drops what a notice makes stale (called from [`super::sessions::SessionCache::apply`]).
    pub(super) async fn apply(&self, what: Revoked) {
        if matches!(what, Revoked::Person(_) | Revoked::Profile(_)) {
            return;
        }
        self.freshness.bump();
        let dropped = match what {
            Revoked::Session(id) => {
                self.keys.invalidate(&id).await;
                Ok(())
            }
            Revoked::User(id) => self
                .keys
                .invalidate_entries_if(move |_, k| k.service_account_id == id)
                .map(drop),
            Revoked::Dealership(id) => self
                .keys
                .invalidate_entries_if(move |_, k| k.dealership_id == Some(id))
                .map(drop),
            Revoked::Person(_) | Revoked::Profile(_) => Ok(()),
        };
        if dropped.is_err() {
            self.keys.invalidate_all();
        }
    }

    pub(super) fn clear(&self) {
        self.freshness.bump();
        self.keys.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_in_their_shape() {
        let id = Uuid::now_v7();
        assert_eq!(
            parse_key(&format!("dg_{id}_abc_-def")),
            Some((id, "abc_-def"))
        );
        for garbage in [
            "dg_",
            "dg__x",
            "dg_not-a-uuid_secret",
            &format!("dg_{id}_"),
            &format!("dg_{id}"),
            &format!("xx_{id}_secret"),
            &format!("dg_{id}_{}", "a".repeat(129)),
        ] {
            assert_eq!(parse_key(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn the_limit_refuses_past_the_quota_with_a_wait() {
        let cache = MachineCache::new(Duration::from_secs(60), 100, Freshness::default());
        let id = Uuid::now_v7();
        assert!(cache.take(id, 2).is_ok() && cache.take(id, 2).is_ok());
        assert!(cache.take(id, 2).unwrap_err() >= 1);
        assert!(cache.take(Uuid::now_v7(), 2).is_ok(), "per account");
        assert!((0..1000).all(|_| cache.take(id, 0).is_ok()), "0: no limit");
    }
}
