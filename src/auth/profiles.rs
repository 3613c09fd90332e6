//! Who am I: the signed-in user's profile (what `/auth/me` shows), cached per replica beside
//! the sessions and under the same rules ([`super::sessions`]): nothing is cached while the
//! replica is not listening, and a load that overlapped a profile or user notice is not
//! cached.
//!
//! Invalidation is complete by construction: a trigger on `users` sends
//! `profile:<id>` ([`Revoked::Profile`](super::sessions::Revoked::Profile)) with every commit
//! that updates or deletes a row, whoever wrote it; the services that write one also drop it
//! here at their commit, so their own replica reads its writes at once. The cache holds
//! [`Profile`]s, never a password hash. Whether the user may still sign in is the session
//! check's question: a profile is only served to a live session.

use std::time::Duration;

use moka::future::Cache;
use uuid::Uuid;

use super::sessions::Freshness;
use crate::{entity::user::Profile, error::AppError};

#[derive(Clone)]
pub struct ProfileCache {
    cache: Cache<Uuid, Profile>,
    freshness: Freshness,
}

impl ProfileCache {
    pub(super) fn new(ttl: Duration, capacity: u64, freshness: Freshness) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            freshness,
        }
    }

    /// User `id`'s profile, from the cache or from `load` (`None`: they may not sign in).
    pub async fn profile<F>(&self, id: Uuid, load: F) -> Result<Option<Profile>, AppError>
    where
        F: Future<Output = Result<Option<Profile>, AppError>>,
    {
        let (profile, hit) = self.freshness.get_or_load(&self.cache, id, load).await?;
        crate::metrics::metrics()
            .profile_cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
        Ok(profile)
    }

    /// Drops membership `id`'s profile, and every profile of person `id` (a person's first
    /// membership shares its id; a person's profiles list all their memberships).
    pub(super) async fn drop_profile(&self, id: Uuid) {
        self.freshness.bump();
        self.cache.invalidate(&id).await;
        self.drop_person(id);
    }

    /// Drops every profile of person `id`.
    pub(super) fn drop_person(&self, id: Uuid) {
        self.freshness.bump();
        if self
            .cache
            .invalidate_entries_if(move |_, p| p.person_id == id)
            .is_err()
        {
            self.cache.invalidate_all();
        }
    }

    pub(super) fn clear(&self) {
        self.freshness.bump();
        self.cache.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{
        auth::sessions::{Revoked, SessionCache, SessionState},
        domain::Role,
    };

    fn profile(id: Uuid, first_name: &str) -> Profile {
        Profile {
            id,
            dealership_id: None,
            group_id: None,
            person_id: id,
            memberships: Vec::new(),
            email: "someone@example.com".into(),
            first_name: first_name.into(),
            last_name: "Doe".into(),
            phone: None,
            role: Role::Agent,
            custom_role_id: None,
            is_active: true,
            last_login: None,
            email_verified_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// Served from the cache: a load that would fail is never run.
    async fn cached(sessions: &SessionCache, id: Uuid) -> Option<String> {
        sessions
            .profiles()
            .profile(id, async { Err(AppError::Unauthenticated) })
            .await
            .ok()
            .flatten()
            .map(|p| p.first_name)
    }

    async fn load(sessions: &SessionCache, id: Uuid, first_name: &str) {
        let loaded = profile(id, first_name);
        sessions
            .profiles()
            .profile(id, async { Ok(Some(loaded)) })
            .await
            .unwrap();
    }

    fn listening() -> SessionCache {
        let sessions = SessionCache::new(Duration::from_secs(60), &Default::default());
        sessions.set_listening(true);
        sessions
    }

    #[tokio::test]
    async fn a_profile_notice_drops_that_profile_and_no_session() {
        let sessions = listening();
        let (alice, bob, sid) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        load(&sessions, alice, "Alice").await;
        load(&sessions, bob, "Bob").await;
        let state = SessionState {
            user_id: alice,
            person_id: alice,
            dealership_id: None,
            group_id: None,
            token_version: 0,
            role: Role::Agent,
            custom_role: None,
            live: true,
        };
        sessions
            .state(sid, async { Ok(Some(state)) })
            .await
            .unwrap();
        assert_eq!(cached(&sessions, alice).await.as_deref(), Some("Alice"));

        sessions.apply(Revoked::Profile(alice)).await;
        assert_eq!(cached(&sessions, alice).await, None);
        assert_eq!(cached(&sessions, bob).await.as_deref(), Some("Bob"));
        let session = sessions
            .state(sid, async { Err(AppError::Unauthenticated) })
            .await;
        assert!(session.is_ok(), "alice's session is still cached");

        sessions.apply(Revoked::User(bob)).await;
        assert_eq!(cached(&sessions, bob).await, None, "a user revocation too");
    }

    #[tokio::test]
    async fn a_load_that_overlapped_a_notice_is_not_cached() {
        let sessions = listening();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let stale = profile(alice, "Old");
        let notice = sessions.clone();
        sessions
            .profiles()
            .profile(alice, async move {
                // the row changes (anyone's: the guard does not tell them apart) while read
                notice.apply(Revoked::Profile(bob)).await;
                Ok(Some(stale))
            })
            .await
            .unwrap();
        assert_eq!(cached(&sessions, alice).await, None);

        load(&sessions, alice, "New").await;
        assert_eq!(cached(&sessions, alice).await.as_deref(), Some("New"));
    }

    #[tokio::test]
    async fn nothing_is_cached_while_not_listening_and_listening_again_starts_empty() {
        let sessions = SessionCache::new(Duration::from_secs(60), &Default::default());
        let alice = Uuid::now_v7();
        load(&sessions, alice, "Alice").await;
        assert_eq!(cached(&sessions, alice).await, None, "loaded again");
        sessions.set_listening(true);

        load(&sessions, alice, "Alice").await;
        assert_eq!(cached(&sessions, alice).await.as_deref(), Some("Alice"));
        sessions.set_listening(false);
        sessions.set_listening(true);
        assert_eq!(cached(&sessions, alice).await, None, "dropped on reconnect");
    }
}
