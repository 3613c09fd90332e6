//! Which database, and how many connections for how long: [`DatabaseSettings`] (`[database]`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;

/// The database a fresh development machine has: the local cluster, trust auth, no TLS.
pub const DEV_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/dealergate?sslmode=disable";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Production connects as a NOINHERIT login role that is a member of the runtime roles.
    pub url: Secret<String>,
    pub max_connections: u32,
    pub min_connections: u32,
    /// Seconds to wait for a free pooled connection before answering 503.
    pub acquire_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// Server-side cap on any one statement, in seconds (0 = none).
    pub statement_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new(DEV_DATABASE_URL.to_owned()),
            max_connections: 16,
            min_connections: 1,
            acquire_timeout_secs: 3,
            connect_timeout_secs: 3,
            statement_timeout_secs: 15,
        }
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}
