//! Revocation reaches every replica at once, through LISTEN/NOTIFY.

use std::time::{Duration, Instant};

use crate::helpers::{
    PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, error_of,
    probes::{CACHED_PROBE, listening, probe, session_id, time_until_probe_refused},
    spawn_app,
};

/// Polls `/auth/me` on `app` until it answers 401; the time it took.
async fn time_until_refused(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        if app.get_as("/api/v1/auth/me", token).await.status() == 401 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_logout_on_one_replica_kills_the_token_on_another_within_a_second() {
    let a = spawn_app().await;
    let b = a.spawn_replica().await;
    listening(&a).await;
    listening(&b).await;
    let tokens = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    // B has the session cached as live before the logout
    assert_eq!(
        b.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        200
    );
    assert_eq!(
        b.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        200
    );
    let verified = b.state.auth.sessions.tokens();
    assert!(verified.holds(&tokens.access), "B verified the token once");

    assert_eq!(
        a.post_as("/api/v1/auth/logout", &tokens.access)
            .await
            .status(),
        204
    );
    // the notice alone drops it from B's verified tokens, no request to B needed
    let started = Instant::now();
    while verified.holds(&tokens.access) {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "replica B still holds the verified token"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = time_until_refused(&b, &tokens.access).await;
    assert!(
        took < Duration::from_secs(1),
        "replica B refused it after {took:?}"
    );
    assert!(
        !verified.holds(&tokens.access),
        "a refused token is verified again but not kept"
    );
}

#[tokio::test]
async fn logout_all_and_a_password_change_reach_the_other_replica_too() {
    let a = spawn_app().await;
    let b = a.spawn_replica().await;
    listening(&a).await;
    listening(&b).await;
    let one = a.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    let two = a.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    for t in [&one, &two] {
        assert_eq!(b.get_as("/api/v1/auth/me", &t.access).await.status(), 200);
    }
    assert_eq!(
        a.post_as("/api/v1/auth/logout-all", &one.access)
            .await
            .status(),
        204
    );
    assert!(time_until_refused(&b, &two.access).await < Duration::from_secs(1));

    let here = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let there = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        b.get_as("/api/v1/auth/me", &there.access).await.status(),
        200
    );
    let changed = a
        .as_user(reqwest::Method::POST, "/api/v1/auth/password", &here.access)
        .json(&serde_json::json!({"current_password": PA_AGENT.password, "new_password": "another good passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    assert!(time_until_refused(&b, &there.access).await < Duration::from_secs(1));
    assert_eq!(
        b.get_as("/api/v1/auth/me", &here.access).await.status(),
        200,
        "the changing session stays"
    );
}

#[tokio::test]
async fn suspending_a_dealership_in_the_database_reaches_cached_sessions_by_notice() {
    let a = spawn_app().await;
    listening(&a).await;
    let tokens = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(probe(&a, &tokens.access).await, 200, "cached as live");
    let owner = a.db.owner().await;
    crate::helpers::exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = false WHERE id = '{PREMIUM_AUTO}'"),
    )
    .await;
    // nobody has told this replica yet: the probe answers from its cache, so what follows
    // shows the notice (and not a fresh read of the dealership) ending the session
    assert_eq!(
        probe(&a, &tokens.access).await,
        200,
        "{CACHED_PROBE} must answer from the session cache, or this test proves nothing"
    );
    // what the dealership endpoints do on commit
    crate::helpers::exec(
        &owner,
        &format!("SELECT pg_notify('dealergate_revocations', 'dealership:{PREMIUM_AUTO}')"),
    )
    .await;
    assert!(time_until_probe_refused(&a, &tokens.access).await < Duration::from_secs(1));
    assert!(time_until_refused(&a, &tokens.access).await < Duration::from_secs(1));
    error_of(a.refresh(&tokens.refresh).await, 401).await;
}

#[tokio::test]
async fn the_listener_reconnects_after_its_connection_is_killed() {
    let a = spawn_app().await;
    listening(&a).await;
    let owner = a.db.owner().await;
    crate::helpers::exec(
        &owner,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    // it notices, stops trusting its cache, and listens again
    let started = Instant::now();
    while a.state.auth.sessions.is_listening() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the lost connection went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tokens = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        a.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        200,
        "served uncached meanwhile"
    );
    listening(&a).await;

    // listening again, it caches again: a revocation only the database knows of is not seen…
    assert_eq!(probe(&a, &tokens.access).await, 200);
    crate::helpers::exec(
        &owner,
        &format!(
            "UPDATE sessions SET revoked_at = now() WHERE id = '{}'",
            session_id(&tokens.access)
        ),
    )
    .await;
    assert_eq!(
        probe(&a, &tokens.access).await,
        200,
        "cached again after the reconnect (or this test proves nothing)"
    );
    // …until its notice reaches the new connection
    crate::helpers::exec(
        &owner,
        &format!(
            "SELECT pg_notify('dealergate_revocations', 'session:{}')",
            session_id(&tokens.access)
        ),
    )
    .await;
    assert!(time_until_probe_refused(&a, &tokens.access).await < Duration::from_secs(1));

    // and a logout on another replica reaches it the same way
    let other = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(probe(&a, &other.access).await, 200);
    assert_eq!(probe(&a, &other.access).await, 200, "cached on A");
    let b = a.spawn_replica().await;
    listening(&b).await;
    assert_eq!(
        b.post_as("/api/v1/auth/logout", &other.access)
            .await
            .status(),
        204
    );
    assert!(time_until_refused(&a, &other.access).await < Duration::from_secs(1));
    assert!(time_until_probe_refused(&a, &other.access).await < Duration::from_secs(1));
}
