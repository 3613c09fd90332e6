//! Is the session still alive? A moka cache of session state per replica, kept honest by
//! PostgreSQL `LISTEN/NOTIFY`: every revocation is published in the transaction that makes it,
//! and every replica drops the affected entries when it commits.
//!
//! While a replica's LISTEN connection is down it may miss notices, so it stops caching and asks
//! the database on every request until it is listening again (and then starts from an empty
//! cache). The TTL bounds staleness even if all of that failed; it is not the mechanism.
//!
//! The caller's profile (`/auth/me`) is cached beside the sessions under the same rules
//! ([`super::profiles`]); a trigger on `users` announces every change to it.

use std::{
    hash::Hash,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::future::Cache;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::{profiles::ProfileCache, service_accounts::MachineCache, verified::VerifiedTokens};
use crate::{config::CacheSettings, domain::Role, error::AppError, tenancy::TenantTx};

pub use super::revoked::{CHANNEL, Revoked, publish};

/// What a request needs to know about its session, joined from session, user and dealership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    /// The membership whose refresh family the session is.
    pub user_id: Uuid,
    pub person_id: Uuid,
    pub dealership_id: Option<Uuid>,
    /// The group of a group membership's session.
    pub group_id: Option<Uuid>,
    pub token_version: i32,
    pub role: Role,
    pub custom_role: Option<Uuid>,
    /// Not revoked, membership active and not deleted, dealership active and not deleted.
    pub live: bool,
}

#[derive(Debug, FromQueryResult)]
struct StateRow {
    user_id: Uuid,
    person_id: Uuid,
    dealership_id: Option<Uuid>,
    group_id: Option<Uuid>,
    token_version: i32,
    role: Role,
    custom_role_id: Option<Uuid>,
    live: bool,
}

/// Session, user and dealership state in one query, for the per-request liveness check.
pub async fn load(tx: &TenantTx, session_id: Uuid) -> Result<Option<SessionState>, AppError> {
    let row = StateRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT s.user_id, u.person_id, s.dealership_id, u.group_id, u.token_version, u.role, \
                u.custom_role_id, \
                (s.revoked_at IS NULL AND u.is_active AND u.deleted_at IS NULL \
                 AND coalesce(d.is_active AND d.deleted_at IS NULL, true)) AS live \
         FROM sessions s \
         JOIN users u ON u.id = s.user_id \
         LEFT JOIN dealerships d ON d.id = s.dealership_id \
         WHERE s.id = $1",
        [session_id.into()],
    ))
    .one(tx)
    .await?;
    Ok(row.map(|r| SessionState {
        user_id: r.user_id,
        person_id: r.person_id,
        dealership_id: r.dealership_id,
        group_id: r.group_id,
        token_version: r.token_version,
        role: r.role,
        custom_role: r.custom_role_id,
        live: r.live,
    }))
}

/// What keeps a per-replica cache honest: nothing is cached while the replica is not listening
/// (shared by the session and the profile caches), and a load that overlapped a notice
/// concerning that cache is not cached (each cache has its own epoch, so the profile notice a
/// sign-in sends does not stop the session it opened from being cached).
#[derive(Clone, Default)]
pub(super) struct Freshness {
    listening: Arc<AtomicBool>,
    /// Bumped by every notice for this cache: a load that overlapped one is not cached.
    epoch: Arc<AtomicU64>,
}

impl Freshness {
    /// A guard for another cache: the same listening state, its own epoch.
    pub(super) fn sibling(&self) -> Self {
        Self {
            listening: self.listening.clone(),
            epoch: Arc::default(),
        }
    }

    /// `key`'s value from `cache`, or from `load` (cached if that is safe); whether it was a
    /// hit.
    pub(super) async fn get_or_load<K, V, F>(
        &self,
        cache: &Cache<K, V>,
        key: K,
        load: F,
    ) -> Result<(Option<V>, bool), AppError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: Future<Output = Result<Option<V>, AppError>>,
    {
        let cacheable = self.listening.load(Ordering::Acquire);
        if cacheable && let Some(value) = cache.get(&key).await {
            return Ok((Some(value), true));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let value = load.await?;
        if let Some(value) = &value
            && cacheable
            && self.epoch.load(Ordering::Acquire) == epoch
        {
            cache.insert(key.clone(), value.clone()).await;
            // a notice applied between the check and the insert must not be undone by it
            if self.epoch.load(Ordering::Acquire) != epoch {
                cache.invalidate(&key).await;
            }
        }
        Ok((value, false))
    }

    /// A notice is being applied: loads under way must not cache what they read.
    pub(super) fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[derive(Clone)]
pub struct SessionCache {
    cache: Cache<Uuid, SessionState>,
    profiles: ProfileCache,
    machines: MachineCache,
    tokens: VerifiedTokens,
    freshness: Freshness,
}

impl SessionCache {
    /// Entries live at most `ttl`; each cache holds at most what `caches` says.
    pub fn new(ttl: Duration, caches: &CacheSettings) -> Self {
        let freshness = Freshness::default();
        Self {
            cache: Cache::builder()
                .max_capacity(caches.sessions)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            profiles: ProfileCache::new(ttl, caches.profiles, freshness.sibling()),
            machines: MachineCache::new(ttl, caches.service_account_keys, freshness.sibling()),
            tokens: VerifiedTokens::new(caches.tokens),
            freshness,
        }
    }

    /// Access tokens verified already, dropped by the same notices.
    pub fn tokens(&self) -> &VerifiedTokens {
        &self.tokens
    }

    /// The state of session `sid`, from the cache or from `load` (`None`: no such session).
    pub async fn state<F>(&self, sid: Uuid, load: F) -> Result<Option<SessionState>, AppError>
    where
        F: Future<Output = Result<Option<SessionState>, AppError>>,
    {
        let (state, _) = self.freshness.get_or_load(&self.cache, sid, load).await?;
        Ok(state)
    }

    /// The profiles of signed-in users, kept fresh by the same notices.
    pub fn profiles(&self) -> &ProfileCache {
        &self.profiles
    }

    /// The keys of service accounts, kept fresh by the same notices.
    pub fn machines(&self) -> &MachineCache {
        &self.machines
    }

    /// Drops what `what` makes stale. Called for every notice, this replica's own included.
    pub async fn apply(&self, what: Revoked) {
        self.machines.apply(what).await;
        self.tokens.apply(what);
        if !matches!(what, Revoked::Profile(_)) {
            self.freshness.bump();
        }
        let dropped = match what {
            Revoked::Session(id) => {
                self.cache.invalidate(&id).await;
                Ok(())
            }
            Revoked::User(id) => {
                self.profiles.drop_profile(id).await;
                self.cache
                    .invalidate_entries_if(move |_, s| s.user_id == id)
                    .map(drop)
            }
            Revoked::Person(id) => {
                self.profiles.drop_person(id);
                self.cache
                    .invalidate_entries_if(move |_, s| s.person_id == id)
                    .map(drop)
            }
            // the session check refuses a suspended dealership's users before any profile
            Revoked::Dealership(id) => self
                .cache
                .invalidate_entries_if(move |_, s| s.dealership_id == Some(id))
                .map(drop),
            Revoked::Profile(id) => {
                self.profiles.drop_profile(id).await;
                Ok(())
            }
        };
        if let Err(err) = dropped {
            tracing::error!(%err, "cannot drop revoked entries; dropping everything");
            self.cache.invalidate_all();
        }
    }

    pub fn set_listening(&self, listening: bool) {
        // whatever was cached may have missed notices while the connection was down
        self.cache.invalidate_all();
        self.profiles.clear();
        self.machines.clear();
        self.tokens.clear();
        self.freshness.bump();
        self.freshness.listening.store(listening, Ordering::Release);
    }

    pub fn is_listening(&self) -> bool {
        self.freshness.listening.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(user: Uuid, dealership: Option<Uuid>) -> SessionState {
        SessionState {
            user_id: user,
            person_id: user,
            dealership_id: dealership,
            group_id: None,
            token_version: 0,
            role: Role::Agent,
            custom_role: None,
            live: true,
        }
    }

    #[tokio::test]
    async fn revocations_drop_exactly_the_affected_sessions() {
        let cache = SessionCache::new(Duration::from_secs(60), &CacheSettings::default());
        cache.set_listening(true);
        let (alice, bob, dealership) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let sessions = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let owners = [
            (alice, Some(dealership)),
            (alice, Some(dealership)),
            (bob, None),
        ];
        for (sid, (user, d)) in sessions.iter().zip(owners) {
            cache
                .state(*sid, async { Ok(Some(state(user, d))) })
                .await
                .unwrap();
        }
        let cached = |sid| {
            let cache = cache.clone();
            async move {
                cache
                    .state(sid, async { Err(AppError::Unauthenticated) })
                    .await
                    .is_ok()
            }
        };
        assert!(cached(sessions[0]).await && cached(sessions[2]).await);

        cache.apply(Revoked::User(alice)).await;
        assert!(!cached(sessions[0]).await && !cached(sessions[1]).await);
        assert!(cached(sessions[2]).await, "bob's session is untouched");

        cache.apply(Revoked::Session(sessions[2])).await;
        assert!(!cached(sessions[2]).await);
    }

    /// A sign-in's own `users` trigger sends a profile notice just as the first request loads
    /// its session: that notice says nothing about sessions, so the load is still cached.
    #[tokio::test]
    async fn a_profile_notice_during_a_session_load_does_not_stop_it_being_cached() {
        let cache = SessionCache::new(Duration::from_secs(60), &CacheSettings::default());
        cache.set_listening(true);
        let (alice, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let notice = cache.clone();
        cache
            .state(sid, async move {
                notice.apply(Revoked::Profile(alice)).await;
                Ok(Some(state(alice, None)))
            })
            .await
            .unwrap();
        let again = cache
            .state(sid, async { Err(AppError::Unauthenticated) })
            .await;
        assert!(again.is_ok(), "served from the cache");

        let notice = cache.clone();
        let other = Uuid::now_v7();
        cache
            .state(other, async move {
                notice.apply(Revoked::Session(sid)).await;
                Ok(Some(state(alice, None)))
            })
            .await
            .unwrap();
        let again = cache.state(other, async { Ok(None) }).await.unwrap();
        assert_eq!(again, None, "a revocation during the load: not cached");
    }

    #[tokio::test]
    async fn nothing_is_cached_while_not_listening() {
        let cache = SessionCache::new(Duration::from_secs(60), &CacheSettings::default());
        let sid = Uuid::now_v7();
        cache
            .state(sid, async { Ok(Some(state(Uuid::now_v7(), None))) })
            .await
            .unwrap();
        let again = cache.state(sid, async { Ok(None) }).await.unwrap();
        assert_eq!(again, None, "loaded again, not served from the cache");
    }
}
