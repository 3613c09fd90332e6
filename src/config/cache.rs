//! How much each per-replica cache may hold (`[cache]`): [`CacheSettings`], in entries, with
//! the bytes an entry takes, so the sum of full caches is known (docs/operations.md, "Memory").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Verified access tokens: their claims, by the token's SHA-256 (a miss verifies the
    /// signature again, ~50 µs).
    pub tokens: u64,
    /// Session states (a miss reads the session from the database).
    pub sessions: u64,
    /// Signed-in users' profiles, what `/auth/me` shows (a miss reads the database).
    pub profiles: u64,
    /// Service-account keys; each key's last-use gate and each account's rate limiter are
    /// bounded by the same number.
    pub service_account_keys: u64,
    /// Policy decisions, per loaded policy (the files' and the one with custom roles).
    pub policy_decisions: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            tokens: 10_000,
            sessions: 20_000,
            profiles: 10_000,
            service_account_keys: 5_000,
            policy_decisions: 5_000,
        }
    }
}

/// Bytes one entry of each cache takes, measured (see docs/operations.md, "Memory"): key and
/// value, their heap parts, and moka's own per-entry bookkeeping.
pub mod entry_bytes {
    pub const TOKEN: u64 = 850;
    pub const SESSION: u64 = 450;
    pub const PROFILE: u64 = 900;
    /// A key's state, its last-use gate and its account's rate limiter.
    pub const SERVICE_ACCOUNT_KEY: u64 = 950;
    /// A decision in each of the two policies (the files' and the one with custom roles).
    pub const POLICY_DECISION: u64 = 2 * 400;
}

/// The most entries any one cache may be given: a guard against a typo's extra zeros.
const MOST: u64 = 10_000_000;

impl CacheSettings {
    /// Each cache by its configuration key, with its entries and the bytes of one entry.
    pub fn areas(&self) -> [(&'static str, u64, u64); 5] {
        [
            ("tokens", self.tokens, entry_bytes::TOKEN),
            ("sessions", self.sessions, entry_bytes::SESSION),
            ("profiles", self.profiles, entry_bytes::PROFILE),
            (
                "service_account_keys",
                self.service_account_keys,
                entry_bytes::SERVICE_ACCOUNT_KEY,
            ),
            (
                "policy_decisions",
                self.policy_decisions,
                entry_bytes::POLICY_DECISION,
            ),
        ]
    }

    /// What every cache holds when full, in bytes.
    pub fn full_bytes(&self) -> u64 {
        self.areas().iter().map(|(_, n, bytes)| n * bytes).sum()
    }

    /// What is refused in every profile: an empty cache (every request would go to the
    /// database or verify again) or an absurd one.
    pub fn problem(&self) -> Option<String> {
        let (key, _, _) = self
            .areas()
            .into_iter()
            .find(|&(_, n, _)| n == 0 || n > MOST)?;
        Some(format!("cache.{key} must be between 1 and {MOST} entries"))
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;

    /// What moka keeps per entry beside key and value (its map node, deque nodes, a shared copy
    /// of the key, timestamps): 313–329 bytes measured by filling a cache with 100,000 entries
    /// of a unit value and reading VmRSS before and after.
    const MOKA_PER_ENTRY: u64 = 320;

    fn inline<K, V>() -> u64 {
        (size_of::<K>() + size_of::<V>()) as u64
    }

    #[test]
    fn each_entry_figure_covers_moka_key_and_value() {
        use crate::auth::{jwt::AccessClaims, service_accounts::KeyState, sessions::SessionState};
        use crate::{authz::Decision, entity::user::Profile};
        use uuid::Uuid;
        // heap parts beside the inline sizes, at glibc's 32-byte minimum chunk: the token's
        // issuer, audience, type, `amr` list and its strings, and the Arc's counts
        let token = inline::<[u8; 32], AccessClaims>() + 16 + 6 * 32;
        // a profile's email, names, phone and memberships (one)
        let profile = inline::<Uuid, Profile>() + 5 * 32 + 64;
        let key = inline::<Uuid, KeyState>() + 32 + inline::<Uuid, ()>() + MOKA_PER_ENTRY + 16 + 64;
        let sizes = [
            (entry_bytes::TOKEN, token),
            (entry_bytes::SESSION, inline::<Uuid, SessionState>()),
            (entry_bytes::PROFILE, profile),
            (entry_bytes::SERVICE_ACCOUNT_KEY, key),
            (entry_bytes::POLICY_DECISION / 2, inline::<Decision, bool>()),
        ];
        for (figure, parts) in sizes {
            println!(
                "documented {figure} bytes, computed {}",
                parts + MOKA_PER_ENTRY
            );
        }
        for (figure, parts) in sizes {
            assert!(
                figure >= parts + MOKA_PER_ENTRY,
                "{figure} < {}",
                parts + MOKA_PER_ENTRY
            );
        }
    }

    #[test]
    fn the_defaults_fill_within_a_budget_and_each_bound_is_checked() {
        let defaults = CacheSettings::default();
        assert_eq!(defaults.problem(), None);
        assert!(
            defaults.full_bytes() <= 36_000_000,
            "{}",
            defaults.full_bytes()
        );
        let none = CacheSettings {
            profiles: 0,
            ..defaults.clone()
        };
        assert_eq!(
            none.problem().as_deref(),
            Some("cache.profiles must be between 1 and 10000000 entries")
        );
        let absurd = CacheSettings {
            policy_decisions: MOST + 1,
            ..defaults
        };
        assert!(
            absurd
                .problem()
                .unwrap()
                .starts_with("cache.policy_decisions")
        );
    }
}
