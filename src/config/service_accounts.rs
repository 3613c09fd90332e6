//! Service accounts (`[service_accounts]`): how long a rotated key keeps working, how long a
//! new key lives, and how fast one account may call ([`ServiceAccountSettings`]).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceAccountSettings {
    /// How long the previous keys keep working after a rotation.
    pub key_overlap_secs: u64,
    /// How long a key lives when its creator names no expiry (at most a year).
    pub key_ttl_days: u32,
    /// Requests per minute one service account may make, on each replica (0: no limit).
    pub requests_per_minute: u32,
}

impl Default for ServiceAccountSettings {
    fn default() -> Self {
        Self {
            key_overlap_secs: 24 * 60 * 60,
            key_ttl_days: 90,
            requests_per_minute: 600,
        }
    }
}

/// The longest a key may live, in days.
pub const MAX_KEY_DAYS: u32 = 365;
