//! Probes that let a test see what the server did, not only what a handler re-reads: the
//! session cache's view (through a route that trusts it), the stored session rows, the claims
//! of a token, and a server process of its own whose metrics, signals and logs are its alone.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use super::{TestApp, TestDb, count, exec};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// A route whose answer depends only on the session state the replica caches: `GET
/// /auth/sessions` lists the caller's sessions without re-reading the user or the dealership.
/// (`/auth/me` serves a cached profile too, but reads the user and the dealership again on a
/// miss — after any change to the user's row — so it cannot show that a revocation reached the
/// session cache.)
pub const CACHED_PROBE: &str = "/api/v1/auth/sessions";

/// The status [`CACHED_PROBE`] answers `token` with on `app`.
pub async fn probe(app: &TestApp, token: &str) -> u16 {
    app.get_as(CACHED_PROBE, token).await.status().as_u16()
}

/// How long a revocation may take to reach another replica's session cache in a test: generous
/// for a loaded machine, and far below the cache's own 60 s (`auth.session_cache_ttl_secs`), so
/// a refusal within it is the notice's doing, not the entry's expiry.
pub const REVOCATION_BOUND: Duration = Duration::from_secs(10);

/// Polls [`CACHED_PROBE`] on `app` until it answers 401; the time it took (at most
/// [`REVOCATION_BOUND`]).
pub async fn time_until_probe_refused(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        if probe(app, token).await == 401 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < REVOCATION_BOUND,
            "{CACHED_PROBE} still accepted the token after {REVOCATION_BOUND:?}: the cached \
             session was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 5 s) until `app` listens for notices: only then does it cache.
pub async fn listening(app: &TestApp) {
    let started = Instant::now();
    while !app.state.auth.sessions.is_listening() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "listener never connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
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

/// Replaces `email`'s stored hash with one of the same password made with `iterations` argon2
/// passes instead of 2: the server verifies with the stored parameters, so each login (right or
/// wrong) keeps a hashing worker busy several times longer — long enough to watch what happens
/// while hashing is under way, whatever the machine.
pub async fn costlier_hash(db: &TestDb, email: &str, password: &str, iterations: u32) {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let params = Params::new(19 * 1024, iterations, 1, None).expect("argon2 parameters");
    let password = password.to_owned();
    let phc = tokio::task::spawn_blocking(move || {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes())
            .expect("hash")
            .to_string()
    })
    .await
    .expect("hashing thread");
    assert!(phc.contains(&format!(",t={iterations},")), "{phc}");
    exec(
        &db.owner().await,
        &format!("UPDATE users SET password_hash = '{phc}' WHERE email = '{email}'"),
    )
    .await;
}

/// The value of an unlabelled metric in the Prometheus text format.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
}

/// The `dealergate` binary serving its own copy of the demo database, on a port of its own:
/// for what is per process (the hashing workers and their gauges, signals) and must not be
/// shared with the other servers a test process hosts.
pub struct ServerProcess {
    child: Child,
    host: String,
    /// `/metrics` on the operators' listener, or on the public one where there is none.
    metrics_url: String,
    pub client: reqwest::Client,
    _db: Arc<TestDb>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Peak {
    pub in_flight: f64,
    pub queued: f64,
}

pub struct Watch {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Peak>,
}

impl Watch {
    pub async fn stop(self) -> Peak {
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}

impl ServerProcess {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::start_on(TestDb::new().await, env).await
    }

    /// Serves `db` (prepared by the test beforehand) with the settings in `env`.
    pub async fn start_on(db: TestDb, env: &[(&str, &str)]) -> Self {
        Self::start_shared(Arc::new(db), env).await
    }

    /// Another replica of `app`, in a process of its own: same database, its own caches and
    /// listener (and its own signing key: sign in on it to call it).
    pub async fn replica_of(app: &TestApp, env: &[(&str, &str)]) -> Self {
        Self::start_shared(app.db.clone(), env).await
    }

    async fn start_shared(db: Arc<TestDb>, env: &[(&str, &str)]) -> Self {
        // a port of its own for the operators' listener: parallel servers must not share one
        let ops = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dealergate"));
        cmd.arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("DEALERGATE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        // the clone is migrated and seeded already: dev `serve` finds nothing to do
        cmd.env("DATABASE_URL", db.owner_url())
            .env("DEALERGATE_LISTEN", "127.0.0.1:0")
            .env("DEALERGATE_LOG__FORMAT", "json")
            .env("DEALERGATE_POLICIES__WATCH", "false")
            .env("DEALERGATE_HTTP__OPS_LISTEN", ops.to_string())
            // as in `test_settings`: the demo admin need not enrol a second factor first
            .env("DEALERGATE_AUTH__MFA__REQUIRED_ROLES", "[]")
            .envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start dealergate serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (port_tx, port_rx) = mpsc::channel();
        // reads the port from the "listening" line, then keeps draining so the pipe never fills
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let port = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .filter(|l| l["message"] == "listening")
                    .and_then(|l| l["port"].as_u64());
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
            }
        });
        let port =
            tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(60)))
                .await
                .unwrap()
                .expect("the server says which port it listens on");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let ops_metrics = format!("http://{ops}/metrics");
        let metrics_url = match client.get(&ops_metrics).send().await {
            Ok(resp) if resp.status() == 200 => ops_metrics,
            _ => format!("http://127.0.0.1:{port}/metrics"),
        };
        Self {
            child,
            host: format!("127.0.0.1:{port}"),
            metrics_url,
            client,
            _db: db,
        }
    }

    /// The server's process id, for signals meant for it alone.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// The access token of a successful login.
    pub async fn access_token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password).await;
        assert_eq!(resp.status(), 200, "{email} signs in");
        let body: serde_json::Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        metric_value(&text, name).unwrap_or_else(|| panic!("{name} in {text}"))
    }

    /// The server's metrics, in the Prometheus text format.
    pub async fn metrics(&self) -> String {
        self.client
            .get(&self.metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Hashes running plus hashes waiting for a worker, right now.
    pub async fn hashing(&self) -> f64 {
        self.metric("dealergate_password_hashes_in_flight").await
            + self.metric("dealergate_password_hashes_queued").await
    }

    /// Samples the hashing gauges until stopped and reports the highest values seen.
    pub fn watch_hashing(&self) -> Watch {
        let (client, url) = (self.client.clone(), self.metrics_url.clone());
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = Peak::default();
            while stopped.try_recv().is_err() {
                if let Ok(resp) = client.get(&url).send().await
                    && let Ok(text) = resp.text().await
                {
                    let value = |name| metric_value(&text, name).unwrap_or(0.0);
                    peak.in_flight = peak
                        .in_flight
                        .max(value("dealergate_password_hashes_in_flight"));
                    peak.queued = peak.queued.max(value("dealergate_password_hashes_queued"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            peak
        });
        Watch { stop, task }
    }

    /// Waits (at most 60 s) until `ready` holds of the hashing work (running + waiting).
    pub async fn wait_for_hashing(&self, what: &str, ready: impl Fn(f64) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let busy = self.hashing().await;
            if ready(busy) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: hashing at {busy}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn wait_until_hashing_is_idle(&self) {
        // a moment for the last aborted requests to reach the hasher
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.wait_for_hashing("hashing never went idle", |busy| busy == 0.0)
            .await;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
