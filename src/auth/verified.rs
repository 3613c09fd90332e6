//! Access tokens verified already: Ed25519 verification is the costliest step of an
//! authenticated request, so each token is verified once and its claims served from here until
//! the token expires.
//!
//! Keyed by the token's SHA-256 (32 bytes instead of the ~400-byte token); only genuine tokens
//! are kept, so garbage cannot fill it. The revocation notices that drop session-cache entries
//! drop the tokens they end here too ([`super::sessions::SessionCache::apply`]), so memory
//! follows revocations. The session check after this cache stays the guard: a token whose
//! notice has not arrived yet is still refused there.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use super::{
    jwt::{self, AccessClaims, LEEWAY_SECS},
    keys::KeySet,
    revoked::Revoked,
};
use crate::{config::AuthSettings, error::AppError};

type Hash = [u8; 32];

#[derive(Clone)]
pub struct VerifiedTokens {
    cache: moka::sync::Cache<Hash, Arc<AccessClaims>>,
}

/// An entry lives as long as its token (with the verification's leeway), not a fixed time.
struct WithTheToken;

impl moka::Expiry<Hash, Arc<AccessClaims>> for WithTheToken {
    fn expire_after_create(
        &self,
        _: &Hash,
        claims: &Arc<AccessClaims>,
        _: Instant,
    ) -> Option<Duration> {
        let left = claims.exp + LEEWAY_SECS as i64 - chrono::Utc::now().timestamp();
        Some(Duration::from_secs(left.max(0) as u64))
    }
}

impl VerifiedTokens {
    /// At most `capacity` tokens (see docs/operations.md for their size).
    pub fn new(capacity: u64) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(WithTheToken)
                .support_invalidation_closures()
                .build(),
        }
    }

    /// [`jwt::verify`], remembered.
    pub fn verify(
        &self,
        keys: &KeySet,
        auth: &AuthSettings,
        token: &str,
    ) -> Result<Arc<AccessClaims>, AppError> {
        let key = hash(token);
        if let Some(claims) = self.cache.get(&key) {
            if is_current(&claims, chrono::Utc::now().timestamp()) {
                return Ok(claims);
            }
            self.cache.invalidate(&key);
        }
        let claims = Arc::new(jwt::verify(keys, auth, token)?);
        self.cache.insert(key, claims.clone());
        Ok(claims)
    }

    /// Whether `token` is remembered (what the tests look at).
    pub fn holds(&self, token: &str) -> bool {
        self.cache.contains_key(&hash(token))
    }

    /// Drops `token`: its session is over.
    pub fn forget(&self, token: &str) {
        self.cache.invalidate(&hash(token));
    }

    /// Drops the tokens `what` ends: a session's (or a service-account key's), a membership's
    /// (or an account's), a person's, a dealership's. A profile notice ends none.
    pub(super) fn apply(&self, what: Revoked) {
        let dropped = match what {
            Revoked::Session(id) => self.cache.invalidate_entries_if(move |_, c| c.sid == id),
            Revoked::User(id) => self
                .cache
                .invalidate_entries_if(move |_, c| c.membership_id() == id),
            Revoked::Person(id) => self.cache.invalidate_entries_if(move |_, c| c.sub == id),
            Revoked::Dealership(id) => self
                .cache
                .invalidate_entries_if(move |_, c| c.dealership_id == Some(id)),
            Revoked::Profile(_) => return,
        };
        if let Err(err) = dropped {
            tracing::error!(%err, "cannot drop revoked tokens; dropping every token");
            self.cache.invalidate_all();
        }
    }

    pub(super) fn clear(&self) {
        self.cache.invalidate_all();
    }
}

fn hash(token: &str) -> Hash {
    Sha256::digest(token.as_bytes()).into()
}

/// The time checks of [`jwt::verify`], with the same leeway, for claims verified earlier.
fn is_current(claims: &AccessClaims, now: i64) -> bool {
    let leeway = LEEWAY_SECS as i64;
    claims.exp + leeway >= now && claims.nbf - leeway <= now
}

#[cfg(test)]
mod tests {
    use moka::Expiry;
    use uuid::Uuid;

    use super::*;
    use crate::{
        auth::{
            jwt::{Authn, Subject, issue},
            mfa::Standing,
        },
        domain::Role,
    };

    fn subject() -> Subject {
        Subject {
            person_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            dealership_id: Some(Uuid::now_v7()),
            group_id: None,
            role: Role::Agent,
            custom_role: None,
            session_id: Uuid::now_v7(),
            token_version: 0,
            authn: Authn {
                auth_time: 1_700_000_000,
                otp: false,
                standing: Standing::Optional,
            },
        }
    }

    #[test]
    fn remembered_tokens_still_expire_and_forgeries_are_not_remembered() {
        let auth = AuthSettings::default();
        let keys = KeySet::from_settings(&auth).unwrap();
        let tokens = VerifiedTokens::new(100);
        let token = issue(&keys, &auth, &subject()).unwrap();
        let first = tokens.verify(&keys, &auth, &token).unwrap();
        let again = tokens.verify(&keys, &auth, &token).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "served from the cache");

        let mut forged = token.clone();
        forged.pop();
        assert!(tokens.verify(&keys, &auth, &forged).is_err());
        assert!(!tokens.holds(&forged));

        assert!(is_current(&first, first.exp + LEEWAY_SECS as i64));
        assert!(!is_current(&first, first.exp + LEEWAY_SECS as i64 + 1));
        assert!(!is_current(&first, first.nbf - LEEWAY_SECS as i64 - 1));
        let left = WithTheToken.expire_after_create(&[0; 32], &first, Instant::now());
        let lifetime = auth.access_token_ttl_secs + LEEWAY_SECS;
        assert!(left.is_some_and(|d| d.as_secs() + 2 >= lifetime && d.as_secs() <= lifetime));
    }

    #[test]
    fn revocations_drop_exactly_the_tokens_they_end() {
        let auth = AuthSettings::default();
        let keys = KeySet::from_settings(&auth).unwrap();
        let tokens = VerifiedTokens::new(100);
        let (alice, bob, carol, dave) = (subject(), subject(), subject(), subject());
        let minted: Vec<String> = [&alice, &bob, &carol, &dave]
            .iter()
            .map(|s| issue(&keys, &auth, s).unwrap())
            .collect();
        for token in &minted {
            tokens.verify(&keys, &auth, token).unwrap();
        }
        tokens.apply(Revoked::Profile(alice.user_id));
        assert!(
            minted.iter().all(|t| tokens.holds(t)),
            "a profile ends none"
        );

        tokens.apply(Revoked::Session(alice.session_id));
        tokens.apply(Revoked::User(bob.user_id));
        tokens.apply(Revoked::Person(carol.person_id));
        let held: Vec<bool> = minted.iter().map(|t| tokens.holds(t)).collect();
        assert_eq!(held, [false, false, false, true]);

        tokens.apply(Revoked::Dealership(dave.dealership_id.unwrap()));
        assert!(!tokens.holds(&minted[3]));
    }
}
