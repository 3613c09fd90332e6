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
    /// A direct (session) connection for the `LISTEN` of revocations and policy reloads; unset:
    /// `url`. Needed when `url` goes through PgBouncer in transaction mode, which hands each
    /// transaction to any server connection and so cannot hold a `LISTEN`.
    pub listen_url: Option<Secret<String>>,
    /// `url` goes through a transaction-pooling proxy (PgBouncer `pool_mode = transaction`):
    /// consecutive transactions of one pooled connection may run on different server
    /// connections, shared with other clients. Then nothing may outlive a transaction on the
    /// server: no statement cache (sqlx's prepared statements are per server connection), every
    /// transaction first drops the named statements other clients left on its server
    /// connection, and `statement_timeout` is set per transaction instead of at connect (a
    /// startup parameter PgBouncer does not pass on). Off: sqlx's cache of 100 statements per
    /// connection, the fastest path for direct connections.
    pub transaction_pooling: bool,
    pub max_connections: u32,
    pub min_connections: u32,
    /// Connections of the second pool, for reads that go out in one round trip (the
    /// directory's lists and reads, issue 27), opened as needed; 0 turns those reads off
    /// (they then take the pool above). Mind PostgreSQL's `max_connections`: a replica may
    /// hold `max_connections + read_connections`.
    pub read_connections: u32,
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
            listen_url: None,
            transaction_pooling: false,
            max_connections: 16,
            min_connections: 1,
            read_connections: 8,
            acquire_timeout_secs: 3,
            connect_timeout_secs: 3,
            statement_timeout_secs: 15,
        }
    }
}

impl DatabaseSettings {
    /// Where the cluster listener connects: `listen_url`, or else `url`.
    pub fn listen_url(&self) -> &str {
        self.listen_url.as_ref().unwrap_or(&self.url).expose()
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}
