//! Who are you: passwords, access tokens and their keys, refresh tokens, sessions and their
//! instant revocation, the signed-in user's cached profile, and failed-login throttling.

pub mod account_token;
pub mod jwt;
pub mod keys;
pub mod mfa;
pub mod password;
pub mod principal;
pub mod profiles;
pub mod refresh_token;
pub mod revoked;
pub mod service_accounts;
pub mod sessions;
pub mod throttle;
pub mod turns;
pub mod verified;

use std::time::Duration;

use anyhow::Context;

use crate::config::{AuthSettings, CacheSettings};

/// The authentication state of one replica.
pub struct AuthContext {
    pub keys: keys::KeySet,
    pub rotation: refresh_token::RotationKey,
    pub sessions: sessions::SessionCache,
    /// Verified against when an email is unknown, so that costs the same as a wrong password.
    pub dummy_hash: String,
    /// Seals and opens TOTP secrets.
    pub mfa: mfa::SecretBox,
    /// Password checks of one name or address, one at a time within this replica.
    pub turns: turns::Turns,
}

impl AuthContext {
    pub async fn build(auth: &AuthSettings, caches: &CacheSettings) -> anyhow::Result<Self> {
        let keys = keys::KeySet::from_settings(auth).context("loading the signing keys")?;
        if keys.ephemeral {
            tracing::warn!(
                "no signing key configured: using an ephemeral key (dev only); tokens die with the process"
            );
        }
        let rotation = match &auth.refresh_token_secret {
            Some(secret) => refresh_token::RotationKey::new(secret.expose().as_bytes()),
            None => refresh_token::RotationKey::ephemeral(),
        };
        password::configure(&auth.hashing).context("starting the hashing workers")?;
        let dummy_hash = password::dummy_hash().context("making the dummy hash")?;
        let mfa = mfa::SecretBox::configured(&auth.mfa)?;
        Ok(Self {
            keys,
            rotation,
            sessions: sessions::SessionCache::new(
                Duration::from_secs(auth.session_cache_ttl_secs),
                caches,
            ),
            dummy_hash,
            mfa,
            turns: turns::Turns::default(),
        })
    }
}
