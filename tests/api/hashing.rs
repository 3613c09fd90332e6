//! Password hashing is bounded: a fixed set of hashing workers, each reusing one memory block,
//! does all argon2 work. A storm of logins does not stall the async workers, aborted logins
//! cannot run more hashes than there are workers, a full queue is refused with 503 and
//! `Retry-After` at once, and a login burst leaves resident memory bounded.
//!
//! The bounds are per process and this test process hosts many servers at once (their gauges
//! and their memory add up), so the bound tests run the real binary as a process of its own.

use std::time::{Duration, Instant};

use crate::helpers::{
    PA_AGENT, PA_PRINCIPAL, TestDb,
    probes::{ServerProcess, costlier_hash},
};

/// How many `/auth/me` answers must come back while the eight logins are still hashing. On the
/// hashing workers each takes a few milliseconds; with argon2 on the async workers each waits
/// behind a hash (~0.2 s here), and the logins are done long before the tenth.
const ME_WHILE_HASHING: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_still_answers_while_eight_logins_hash() {
    let db = TestDb::new().await;
    // eight hashes of ~8x the usual cost, one at a time: about a second of hashing on any machine
    costlier_hash(&db, PA_AGENT.email, PA_AGENT.password, 16).await;
    let server = ServerProcess::start_on(db, &[("DEALERGATE_AUTH__HASHING__WORKERS", "1")]).await;
    let me = server
        .access_token(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    assert_eq!(server.hashing().await, 0.0, "nothing hashing yet");
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let client = server.client.clone();
            let url = server.url("/api/v1/auth/login");
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
    server
        .wait_for_hashing("the logins reach the hasher", |busy| busy >= 1.0)
        .await;
    for n in 1..=ME_WHILE_HASHING {
        let answered = server.get_as("/api/v1/auth/me", &me).await;
        assert_eq!(answered.status(), 200, "/auth/me #{n} during the hashing");
    }
    let busy = server.hashing().await;
    let finished = logins.iter().filter(|l| l.is_finished()).count();
    assert!(
        busy >= 1.0 && finished < logins.len(),
        "all {ME_WHILE_HASHING} answers of /auth/me come back while the logins still hash; \
         after them, hashing: {busy}, logins finished: {finished} of 8"
    );
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
}

/// How many logins are sent and then abandoned: all fit in the default queue (64) beside the
/// two workers, so none is refused and every one reaches the hasher.
const ABANDONED: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_logins_never_run_more_hashes_than_there_are_workers() {
    const WORKERS: f64 = 2.0;
    let db = TestDb::new().await;
    // each hash ~8x the usual cost: the 40 logins would keep the two workers busy for seconds,
    // so the callers are long gone before the queue could drain by itself
    costlier_hash(&db, PA_AGENT.email, PA_AGENT.password, 16).await;
    let server = ServerProcess::start_on(db, &[("DEALERGATE_AUTH__HASHING__WORKERS", "2")]).await;
    let hashes = || server.metric("dealergate_password_hashes_total");
    let before = hashes().await;
    let watch = server.watch_hashing();
    // HTTP/2, where a client going away resets its stream and the server drops the request's
    // future (HTTP/1 requests run on regardless here); four connections of 10 streams
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
    let logins: Vec<_> = (0..ABANDONED)
        .map(|i| {
            tokio::spawn(
                clients[i % 4]
                    .post(server.url("/api/v1/auth/login"))
                    .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                    .send(),
            )
        })
        .collect();
    // every login has reached the hasher: hashed already, hashing, or waiting for a worker
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reached = hashes().await - before + server.hashing().await;
        if reached >= ABANDONED as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {reached} of {ABANDONED} logins reached the hasher"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // then every caller still waiting goes away
    for login in &logins {
        login.abort();
    }
    let mut answered = 0.0;
    for login in logins {
        match login.await {
            Ok(resp) => {
                assert_eq!(resp.unwrap().status(), 200, "an answered login signed in");
                answered += 1.0;
            }
            Err(err) => assert!(err.is_cancelled(), "{err}"),
        }
    }
    server.wait_until_hashing_is_idle().await;
    let peak = watch.stop().await;
    let ran = hashes().await - before;
    let for_nobody = ran - answered;
    eprintln!(
        "{ABANDONED} logins: {answered} answered before their callers went away, {ran} hashes \
         run, {for_nobody} of them for callers already gone; peak {peak:?}"
    );
    assert!(
        peak.in_flight >= 1.0,
        "the flood reached the hashers: {peak:?}"
    );
    assert!(
        peak.in_flight <= WORKERS,
        "at most the 2 workers' hashes run at once: {peak:?}"
    );
    // the hashes under way when the callers left finish; every queued one is skipped. (Twice
    // the workers: a worker may take one more job in the moment before a reset arrives.)
    assert!(
        for_nobody <= 2.0 * WORKERS,
        "{ran} hashes run for {answered} answers: {for_nobody} for callers already gone, of \
         {} abandoned",
        ABANDONED as f64 - answered
    );
    let after = server.login(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(after.status(), 200, "the server still logs people in");
    assert_eq!(
        hashes().await - before,
        ran + 1.0,
        "a login runs exactly one hash"
    );
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
    // the two workers' argon2 blocks (19 MiB each) and room for the pool's connections and
    // allocator slack; blocks allocated per hash grew it by ~440 MiB (commit d5cfea2). Measured
    // against the idle figure, not a fixed total, which every other feature moves.
    let grown = after - idle;
    assert!(
        grown < (2.0 * 19.0 + 32.0) * 1024.0 * 1024.0,
        "RSS after the burst: {:.1} MiB (idle {:.1} MiB)",
        mib(after),
        mib(idle)
    );
}
