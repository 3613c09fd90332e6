//! How the HTTP listeners behave: limits, timeouts, CORS, proxies, HSTS — [`HttpSettings`]
//! (`[http]`).

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::Profile;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Request bodies above this many bytes are answered with 413.
    pub body_limit_bytes: usize,
    /// Seconds a client may take to send its request body before it is refused.
    pub body_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Seconds to keep serving, unready, after SIGTERM before closing the listener, so load
    /// balancers stop routing here first (Kubernetes: a few seconds).
    pub shutdown_delay_secs: u64,
    /// Browser origins allowed by CORS (`https://app.example.com`). Unset: the usual local
    /// dev-server ports in `dev`, none in `prod`. Credentials are allowed only in cookie mode.
    pub cors_origins: Option<Vec<String>>,
    /// Take the client IP from `X-Forwarded-For` (every header line, in order). Only behind
    /// proxies that append to it: otherwise clients choose their own IP.
    pub trust_forwarded_for: bool,
    /// How many proxies in front of us append to `X-Forwarded-For`: the client is the entry
    /// this many from the right (1: the one the nearest proxy appended). Left of it, entries are
    /// the client's own word.
    pub trusted_proxy_hops: u8,
    /// Send `Strict-Transport-Security: max-age=…` (only when clients reach us over HTTPS).
    pub hsts_max_age_secs: Option<u64>,
    /// Seconds a client may take to send a request's headers; a keep-alive connection waiting
    /// for its next request is closed after the same time (HTTP/1.1).
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay without any traffic before it is closed (HTTP/2 included).
    pub idle_timeout_secs: u64,
    /// The operators' listener: `/metrics`, `/healthz` and the detailed `/readyz`. Keep it off
    /// the public network (the chart exposes it to probes and the monitoring only).
    pub ops_listen: Option<SocketAddr>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            body_timeout_secs: 10,
            shutdown_timeout_secs: 20,
            shutdown_delay_secs: 0,
            cors_origins: None,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            hsts_max_age_secs: None,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            ops_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9090))),
        }
    }
}

impl HttpSettings {
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_secs(self.shutdown_delay_secs)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    /// The origins CORS allows under `profile`.
    pub fn cors_origins_for(&self, profile: Profile) -> Vec<String> {
        match (&self.cors_origins, profile) {
            (Some(origins), _) => origins.clone(),
            (None, Profile::Dev) => [3000, 4200, 5173, 8080]
                .iter()
                .flat_map(|port| {
                    [
                        format!("http://localhost:{port}"),
                        format!("http://127.0.0.1:{port}"),
                    ]
                })
                .collect(),
            (None, Profile::Prod) => Vec::new(),
        }
    }
}
