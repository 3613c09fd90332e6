//! Failed-login throttling: counted in PostgreSQL, so it holds across replicas.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use crate::helpers::{
    PA_AGENT, PA_PRINCIPAL, TestDb, assert_locked, count, error_of,
    probes::{ServerProcess, costlier_hash},
    spawn_app_with,
};

pub(crate) fn three_strikes(s: &mut dealergate::config::Settings) {
    s.auth.lockout.account_max_failures = 3;
    s.auth.lockout.delay_after = 10; // no delay: this test is about the lock
}

#[tokio::test]
async fn the_failure_after_the_limit_is_429_with_retry_after_on_every_replica() {
    let a = spawn_app_with(three_strikes).await;
    let b = a.spawn_replica().await;
    error_of(a.login(PA_AGENT.email, "wrong-1").await, 401).await;
    error_of(b.login(PA_AGENT.email, "wrong-2").await, 401).await;
    error_of(a.login(PA_AGENT.email, "wrong-3").await, 401).await;

    assert_locked(b.login(PA_AGENT.email, "wrong-4").await).await;
    // locked means locked, even with the right password, on either replica
    error_of(a.login(PA_AGENT.email, PA_AGENT.password).await, 429).await;
    // another account is not affected
    a.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;

    let owner = a.db.owner().await;
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'login.failed'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'login.locked'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_account_count() {
    let app = spawn_app_with(three_strikes).await;
    for _ in 0..2 {
        error_of(app.login(PA_AGENT.email, "wrong").await, 401).await;
    }
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    for _ in 0..2 {
        error_of(app.login(PA_AGENT.email, "wrong").await, 401).await;
    }
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn unknown_accounts_lock_like_real_ones_and_the_ip_limit_catches_spraying() {
    let app = spawn_app_with(|s| {
        three_strikes(s);
        s.auth.lockout.ip_max_failures = 5;
    })
    .await;
    for _ in 0..3 {
        error_of(app.login("ghost@premiumauto.com", "guess").await, 401).await;
    }
    error_of(app.login("ghost@premiumauto.com", "guess").await, 429).await;
    // two more failures from this IP on other accounts reach the IP limit (3 + 2 = 5)
    error_of(app.login("a@premiumauto.com", "guess").await, 401).await;
    error_of(app.login("b@premiumauto.com", "guess").await, 401).await;
    error_of(
        app.login(PA_PRINCIPAL.email, PA_PRINCIPAL.password).await,
        429,
    )
    .await;
}

#[tokio::test]
async fn failures_beyond_the_free_attempts_are_answered_progressively_slower() {
    let app = spawn_app_with(|s| {
        s.auth.lockout.account_max_failures = 10;
        s.auth.lockout.delay_after = 1;
    })
    .await;
    let timed = |email: String| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            error_of(app.login(&email, "wrong").await, 401).await;
            started.elapsed()
        }
    };
    // the same failure, at the same moment, for an account that has none yet (so no delay):
    // what answering costs now, to take away from the delayed answer
    let undelayed = |n: u32| timed(format!("fresh-{n}@premiumauto.com"));
    undelayed(0).await; // the first request of a server pays for its connections
    let mut delays = Vec::new();
    let mut took = Vec::new();
    for failure in 1..=5 {
        let delayed = timed(PA_AGENT.email.to_owned()).await;
        let cost = undelayed(failure).await.min(undelayed(failure + 10).await);
        took.push(delayed);
        delays.push(delayed.saturating_sub(cost));
    }
    let third = took[2];
    assert!(third >= std::time::Duration::from_millis(500), "{third:?}");
    // after the free failure the delay doubles (250, 500, 1000, 2000 ms). Compared two failures
    // apart (4x), so a loaded machine's jitter cannot pass a flat delay or fail a doubling one
    assert!(
        delays[3] > delays[1] && delays[4] > delays[2],
        "each failure waited longer than the one two before it: {delays:?}"
    );
    assert!(
        delays[4] >= delays[1] * 3,
        "the fifth failure waited at least 3x as long as the second (doubling: 8x): {delays:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_simultaneous_guesses_cannot_outrun_the_lock() {
    const MAX_FAILURES: usize = 3;
    const WRONG: usize = 15;
    let db = TestDb::new().await;
    // every guess keeps the one hashing worker busy ~5x longer than usual: far longer than
    // counting the previous failure takes, so the lock lands between two hashes
    costlier_hash(&db, PA_AGENT.email, PA_AGENT.password, 10).await;
    let max_failures = MAX_FAILURES.to_string();
    let server = ServerProcess::start_on(
        db,
        &[
            // one worker, so the bound below does not depend on the machine's cores
            ("DEALERGATE_AUTH__HASHING__WORKERS", "1"),
            (
                "DEALERGATE_AUTH__LOCKOUT__ACCOUNT_MAX_FAILURES",
                max_failures.as_str(),
            ),
            ("DEALERGATE_AUTH__LOCKOUT__DELAY_AFTER", "10"), // no delay: this is about the lock
        ],
    )
    .await;
    let answered = Arc::new(AtomicUsize::new(0));
    let guesses: Vec<_> = (0..WRONG)
        .map(|i| {
            let (client, url) = (server.client.clone(), server.url("/api/v1/auth/login"));
            let answered = answered.clone();
            tokio::spawn(async move {
                let status = client
                    .post(url)
                    .json(&serde_json::json!({"email": PA_AGENT.email, "password": format!("guess-{i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                answered.fetch_add(1, Ordering::SeqCst);
                status
            })
        })
        .collect();
    // the right password goes last by sequencing, not by spawn order: only once every wrong
    // guess is with the hasher (one worker takes them first come, first served) or answered
    server
        .wait_for_hashing("every wrong guess reaches the hasher", |busy| {
            busy as usize + answered.load(Ordering::SeqCst) >= WRONG
        })
        .await;
    let right = server.login(PA_AGENT.email, PA_AGENT.password).await;
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "a wrong guess is refused, never signed in: {statuses:?}"
    );
    let tried = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        tried <= MAX_FAILURES,
        "only the {MAX_FAILURES} failures the lock allows were tried: {statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    // the right password, sent in the burst after every wrong guess, is refused
    assert_eq!(right.status(), 429, "the right password after the lock");
    assert_eq!(error_of(right, 429).await["type"], "rate_limited");
    let after = server.login(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(error_of(after, 429).await["type"], "rate_limited");
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_a_login() {
    let app = spawn_app_with(three_strikes).await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let change = |current: &str| {
        app.as_user(
            reqwest::Method::POST,
            "/api/v1/auth/password",
            &tokens.access,
        )
        .json(&serde_json::json!({"current_password": current, "new_password": "a new passphrase"}))
        .send()
    };
    for i in 0..3 {
        let error = error_of(change(&format!("guess-{i}")).await.unwrap(), 422).await;
        assert_eq!(error["details"][0]["field"], "current_password");
    }
    error_of(change(PA_AGENT.password).await.unwrap(), 429).await;
}
