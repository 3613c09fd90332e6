//! How tokens, sessions, lockout and hashing are set up: [`AuthSettings`] (`[auth]`, with
//! `[auth.lockout]`, `[auth.hashing]`, `[auth.open_signup]` and `[auth.mfa]`).

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Secret;
use crate::domain::Role;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `iss` of issued access tokens, and the only issuer accepted.
    pub issuer: String,
    /// `aud` of issued access tokens, and the only audience accepted.
    pub audience: String,
    pub access_token_ttl_secs: u64,
    /// Idle lifetime of a session: each refresh extends it by this much.
    pub refresh_token_ttl_secs: u64,
    /// Absolute lifetime of a session, however often it is refreshed.
    pub session_max_age_secs: u64,
    /// Seconds during which a just-rotated refresh token still succeeds (tabs refreshing at once).
    pub refresh_grace_secs: u64,
    /// PEM (PKCS#8) of the Ed25519 key that signs access tokens, inline.
    pub signing_key: Option<Secret<String>>,
    /// …or the path of that PEM file.
    pub signing_key_file: Option<PathBuf>,
    /// PEM files of retired public keys still accepted for verification (key rotation).
    pub verification_key_files: Vec<PathBuf>,
    /// Secret (at least 32 bytes) from which rotated refresh tokens are derived.
    pub refresh_token_secret: Option<Secret<String>>,
    /// Send the refresh token as an HttpOnly cookie instead of in the JSON body.
    pub cookie_mode: bool,
    /// Upper bound, in seconds, on how long a replica trusts cached session state if a
    /// revocation notice were lost. Revocations normally apply at once through NOTIFY.
    pub session_cache_ttl_secs: u64,
    /// Login answers 403 `email_not_verified` until the user has confirmed their address.
    pub require_verified_email: bool,
    pub lockout: LockoutSettings,
    pub hashing: HashingSettings,
    pub open_signup: OpenSignupSettings,
    pub mfa: MfaSettings,
}

/// Signing up without an invitation: off unless enabled, and then only into one dealership,
/// as `agent`, with an unverified email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenSignupSettings {
    pub enabled: bool,
    /// The dealership every open signup joins; required when enabled.
    pub dealership_id: Option<Uuid>,
}

/// Multi-factor sign-in: TOTP factors and recovery codes, who must have one, and how recent
/// a second factor must be for a sensitive change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Base64 of the 32-byte key that seals TOTP secrets at rest (AES-256-GCM). Required in
    /// `prod`; dev uses a fixed development key, with a warning.
    pub encryption_key: Option<Secret<String>>,
    /// Roles that must sign in with a second factor, whatever their dealership says.
    pub required_roles: Vec<Role>,
    /// How recent (seconds) the second factor must be for a sensitive change (step-up).
    pub step_up_max_age_secs: u64,
    /// How long the `mfa_token` of a half-done sign-in lives.
    pub challenge_ttl_secs: u64,
    /// The issuer authenticator apps show beside the account.
    pub issuer: String,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            encryption_key: None,
            required_roles: vec![Role::Admin],
            step_up_max_age_secs: 15 * 60,
            challenge_ttl_secs: 5 * 60,
            issuer: "dealergate".into(),
        }
    }
}

/// The argon2 workers. Each holds one 19 MiB block, so hashing memory is at most
/// `workers` × 19 MiB; a hash asked for while `queue` others wait is answered 503 at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashingSettings {
    /// Hashing threads (0 = one per available core).
    pub workers: usize,
    /// Hashes that may wait for a free worker.
    pub queue: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failed logins for one account within the window before it is locked.
    pub account_max_failures: u32,
    /// Failed logins from one client IP within the window before it is locked.
    pub ip_max_failures: u32,
    pub window_secs: u64,
    pub lock_secs: u64,
    /// Failures after which each further failure is answered more slowly.
    pub delay_after: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "dealergate".into(),
            audience: "dealergate".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 7 * 24 * 3600,
            session_max_age_secs: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            signing_key: None,
            signing_key_file: None,
            verification_key_files: Vec::new(),
            refresh_token_secret: None,
            cookie_mode: false,
            session_cache_ttl_secs: 60,
            require_verified_email: false,
            lockout: LockoutSettings::default(),
            hashing: HashingSettings::default(),
            open_signup: OpenSignupSettings::default(),
            mfa: MfaSettings::default(),
        }
    }
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 64,
        }
    }
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            account_max_failures: 5,
            ip_max_failures: 50,
            window_secs: 15 * 60,
            lock_secs: 15 * 60,
            delay_after: 2,
        }
    }
}

impl AuthSettings {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }
}

impl HashingSettings {
    /// The configured number of workers, or the available cores.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}
