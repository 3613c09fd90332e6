//! Probes that let a test see what the server did, not only what a handler re-reads: the
//! session cache's view (through a route that trusts it), the stored session rows, the claims
//! of a token, and a server process of its own whose metrics, signals and logs are its alone.

use std::time::{Duration, Instant};

use super::{TestApp, count};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// A route whose answer depends only on the session state the replica caches: `GET
/// /auth/sessions` lists the caller's sessions without re-reading the user or the dealership.
/// (`/auth/me` re-reads both, so it refuses a deactivated user, a deleted one or a suspended
/// dealership even while the cache still holds the session as live: it cannot show that a
/// revocation reached the cache.)
pub const CACHED_PROBE: &str = "/api/v1/auth/sessions";

/// The status [`CACHED_PROBE`] answers `token` with on `app`.
pub async fn probe(app: &TestApp, token: &str) -> u16 {
    app.get_as(CACHED_PROBE, token).await.status().as_u16()
}

/// Polls [`CACHED_PROBE`] on `app` until it answers 401; the time it took (at most 5 s).
pub async fn time_until_probe_refused(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        if probe(app, token).await == 401 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{CACHED_PROBE} still accepted the token after 5 s: the cached session was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The session id (`sid`) an access token belongs to (read from its claims; the signature is
/// the server's business, not this probe's).
pub fn session_id(access: &str) -> Uuid {
    use base64::Engine;
    let payload = access.split('.').nth(1).expect("a JWT has a payload");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: serde_json::Value = serde_json::from_slice(&json).expect("JSON claims");
    claims["sid"]
        .as_str()
        .and_then(|sid| sid.parse().ok())
        .expect("a sid claim holding a uuid")
}

/// Stored sessions matching `condition` (SQL over `sessions`), `(all, not revoked)`, as the
/// superuser sees them.
pub async fn sessions_where(conn: &impl ConnectionTrait, condition: &str) -> (i64, i64) {
    let all = count(
        conn,
        &format!("SELECT count(*) AS n FROM sessions WHERE {condition}"),
    )
    .await;
    let live = count(
        conn,
        &format!("SELECT count(*) AS n FROM sessions WHERE ({condition}) AND revoked_at IS NULL"),
    )
    .await;
    (all, live)
}
