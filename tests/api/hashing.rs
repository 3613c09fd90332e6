//! Password hashing is bounded: a fixed set of hashing workers, each reusing one memory block,
//! does all argon2 work. A storm of logins does not stall the async workers, aborted logins
//! cannot run more hashes than there are workers, a full queue is refused with 503 and
//! `Retry-After` at once, and a login burst leaves resident memory bounded.
//!
//! The bounds are per process and this test process hosts many servers at once (their gauges
//! and their memory add up), so the bound tests run the real binary as a process of its own.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::helpers::{PA_AGENT, PA_PRINCIPAL, TestDb, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_still_answers_while_eight_logins_hash() {
    let app = spawn_app().await;
    let me = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/v1/auth/login");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let answered = app.get_as("/api/v1/auth/me", &me.access).await;
    assert_eq!(
        answered.status(),
        200,
        "/auth/me completes during the hashing"
    );
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_logins_never_run_more_hashes_than_there_are_workers() {
    let server = ServerProcess::start(&[("DEALERGATE_AUTH__HASHING__WORKERS", "2")]).await;
    let watch = server.watch_hashing();
    // HTTP/2, where a client going away resets its stream and the server drops the request's
    // future (HTTP/1 requests run on regardless here); four connections of 50 streams
    let clients: Vec<_> = (0..4)
        .map(|_| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap()
        })
        .collect();
    for client in &clients {
        let warm = client.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(warm.status(), 200, "the connection is up before the flood");
    }
    let aborted: Vec<_> = (0..200u64)
        .map(|i| {
            let login = clients[i as usize % 4]
                .post(server.url("/api/v1/auth/login"))
                .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                .send();
            // they go away over 1.5 s, while the hashers work through the queue (~20 ms a hash)
            let patience = Duration::from_millis(5 + i * 37 % 1500);
            tokio::spawn(tokio::time::timeout(patience, login))
        })
        .collect();
    let mut answered = Vec::new();
    for abort in aborted {
        if let Ok(resp) = abort.await.unwrap() {
            answered.push(resp.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
        }
    }
    eprintln!("answered before the client went away: {answered:?}");
    server.wait_until_hashing_is_idle().await;
    let peak = watch.stop().await;
    assert!(
        peak.in_flight >= 1.0,
        "the flood reached the hashers: {peak:?}"
    );
    assert!(
        peak.in_flight <= 2.0,
        "at most the 2 workers' hashes run at once: {peak:?}"
    );
    assert!(
        peak.queued <= 64.0,
        "at most the queue limit waits: {peak:?}"
    );
    let after = server.login(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(after.status(), 200, "the server still logs people in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_is_refused_at_once_with_503_and_retry_after() {
    let server = ServerProcess::start(&[
        ("DEALERGATE_AUTH__HASHING__WORKERS", "1"),
        ("DEALERGATE_AUTH__HASHING__QUEUE", "2"),
    ])
    .await;
    let logins: Vec<_> = (0..24)
        .map(|_| {
            let (client, url) = (server.client.clone(), server.url("/api/v1/auth/login"));
            tokio::spawn(async move {
                let started = Instant::now();
                let resp = client
                    .post(url)
                    .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body: serde_json::Value = resp.json().await.unwrap();
                (status, retry_after, body, started.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for login in logins {
        answers.push(login.await.unwrap());
    }
    let slowest_success = answers
        .iter()
        .filter(|a| a.0 == 200)
        .map(|a| a.3)
        .max()
        .expect("some logins got a worker");
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(
        !refused.is_empty(),
        "24 logins for 1 worker and 2 queue places: some are refused"
    );
    for (status, retry_after, body, elapsed) in &answers {
        assert!(
            matches!(status, 200 | 503),
            "only successes and refusals: {status} {body}"
        );
        if *status == 503 {
            assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
            assert_eq!(body["error"]["type"], "unavailable", "{body}");
            assert!(
                *elapsed < slowest_success,
                "refused without waiting for the hasher: {elapsed:?} vs {slowest_success:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_memory_stays_bounded_after_a_login_burst() {
    let server = ServerProcess::start(&[("DEALERGATE_AUTH__HASHING__WORKERS", "2")]).await;
    let idle = server
        .metric("dealergate_process_resident_memory_bytes")
        .await;
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (client, url) = (server.client.clone(), server.url("/api/v1/auth/login"));
            tokio::spawn(async move {
                for _ in 0..500 / 16 + 1 {
                    let status = client
                        .post(&url)
                        .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, 200);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let after = server
        .metric("dealergate_process_resident_memory_bytes")
        .await;
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    eprintln!(
        "RSS idle {:.1} MiB, after 512 logins from 16 clients {:.1} MiB",
        mib(idle),
        mib(after)
    );
    assert!(
        after < 100.0 * 1024.0 * 1024.0,
        "RSS after the burst: {:.1} MiB (idle {:.1} MiB)",
        mib(after),
        mib(idle)
    );
}

/// The `dealergate` binary serving its own copy of the demo database, on a port of its own.
struct ServerProcess {
    child: Child,
    host: String,
    /// `/metrics` on the operators' listener, or on the public one where there is none.
    metrics_url: String,
    client: reqwest::Client,
    _db: TestDb,
}

#[derive(Debug, Default, Clone, Copy)]
struct Peak {
    in_flight: f64,
    queued: f64,
}

struct Watch {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Peak>,
}

impl Watch {
    async fn stop(self) -> Peak {
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}

impl ServerProcess {
    async fn start(env: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
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

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }

    async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .client
            .get(&self.metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metric_value(&text, name).unwrap_or_else(|| panic!("{name} in {text}"))
    }

    /// Samples the hashing gauges until stopped and reports the highest values seen.
    fn watch_hashing(&self) -> Watch {
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

    async fn wait_until_hashing_is_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        // a moment for the last aborted requests to reach the hasher
        tokio::time::sleep(Duration::from_millis(500)).await;
        loop {
            let busy = self.metric("dealergate_password_hashes_in_flight").await
                + self.metric("dealergate_password_hashes_queued").await;
            if busy == 0.0 {
                return;
            }
            assert!(Instant::now() < deadline, "hashing never went idle");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an unlabelled metric in the Prometheus text format.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
}
