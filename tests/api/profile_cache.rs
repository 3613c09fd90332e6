//! `/auth/me` answers from the replica's caches — no database round trip — and every change to
//! the user's row still shows at once on the replica that made it and within a second on every
//! other, whoever made it (the API, or SQL straight into the table).

use std::{
    future::Future,
    time::{Duration, Instant},
};

use dealergate::config::Secret;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, TestApp, error_of, exec,
    fault_proxy::{FaultProxy, Mode},
    probes::{ServerProcess, listening, metric_value},
    server_addr, spawn_app, spawn_app_behind_proxy, spawn_app_with, url_via,
};

const ME: &str = "/api/v1/auth/me";
const HIT: &str = "dealergate_profile_cache_total{result=\"hit\"}";

async fn me(app: &TestApp, token: &str) -> Value {
    let resp = app.get_as(ME, token).await;
    assert_eq!(resp.status(), 200, "{ME}");
    resp.json().await.unwrap()
}

/// Asks `/auth/me` through `fetch` until `shows` holds of its answer (a 401 is `null`); how
/// long that took (at most 5 s).
async fn time_until<F, Fut>(fetch: F, shows: impl Fn(&Value) -> bool) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = reqwest::Response>,
{
    let started = Instant::now();
    loop {
        let resp = fetch().await;
        let body = match resp.status().as_u16() {
            200 => resp.json().await.unwrap(),
            401 => Value::Null,
            other => panic!("{ME} answered {other}"),
        };
        if shows(&body) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{ME} still shows {body} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `/auth/me` on `app` until `field` is `want`: at most a second.
async fn shows_within_a_second(app: &TestApp, token: &str, field: &str, want: &Value) {
    let took = time_until(|| app.get_as(ME, token), |b| b[field] == *want).await;
    assert!(
        took < Duration::from_secs(1),
        "{field} = {want} after {took:?}"
    );
}

/// Two replicas of one database, both listening, with `token`'s profile cached on each.
async fn two_replicas() -> (TestApp, TestApp) {
    let a = spawn_app().await;
    let b = a.spawn_replica().await;
    listening(&a).await;
    listening(&b).await;
    (a, b)
}

async fn warm(app: &TestApp, token: &str) -> Value {
    me(app, token).await;
    me(app, token).await
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let resp = app
        .as_user(Method::PATCH, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "PATCH {path} {body}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_second_auth_me_is_answered_with_the_database_out_of_reach() {
    // requests reach the database through the proxy; the listener connects directly, so the
    // replica keeps trusting its caches while the proxy refuses everything
    let (app, proxy) = spawn_app_behind_proxy(|s| {
        let direct = url_via(s.database.url.expose(), server_addr());
        s.database.listen_url = Some(Secret::new(direct));
        s.database.acquire_timeout_secs = 1;
        s.database.connect_timeout_secs = 1;
    })
    .await;
    listening(&app).await;
    let token = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    // the sign-in's own notices (its session, the last sign-in time) may reach the listener
    // after the answer and rightly drop what was cached before them: let them land first
    // (a CI run on a loaded machine once cut the proxy between them and the cache's filling)
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first = me(&app, &token).await;

    proxy.refuse();
    proxy.cut();
    let needs_the_database = app.get_as("/api/v1/auth/sessions", &token).await;
    error_of(needs_the_database, 503).await;
    assert_eq!(
        me(&app, &token).await,
        first,
        "no round trip: the token, the session and the profile all come from the caches"
    );
    let metrics = app.ops("/metrics").await.text().await.unwrap();
    assert!(
        metric_value(&metrics, HIT).is_some_and(|hits| hits >= 1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn profile_changes_through_the_api_show_at_once_here_and_within_a_second_elsewhere() {
    let (a, b) = two_replicas().await;
    let agent = a.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    let principal = a
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let admin = a.login_ok(ADMIN.email, ADMIN.password).await.access;
    warm(&a, &agent).await;
    warm(&b, &agent).await;
    let staff = format!("/api/v1/users/{}", PA_AGENT.id);

    // the agent's own edit (runtime role, own row), a principal's (runtime role, the
    // dealership) and an admin's (platform role)
    for (path, token, field, value) in [
        (ME, &agent, "first_name", json!("Renamed")),
        (staff.as_str(), &principal, "last_name", json!("Changed")),
        (staff.as_str(), &admin, "phone", json!("+1 312 555 0199")),
    ] {
        let changed = patch(&a, path, token, json!({ field: value })).await;
        let want = &changed[field];
        assert_eq!(
            &me(&a, &agent).await[field],
            want,
            "at once on the replica that wrote it"
        );
        shows_within_a_second(&b, &agent, field, want).await;
    }

    // a password change touches only `updated_at` of what the profile shows
    let before = warm(&b, &agent).await["updated_at"].clone();
    let new_password = "another good passphrase";
    let resp = a
        .as_user(Method::POST, "/api/v1/auth/password", &agent)
        .json(&json!({"current_password": PA_AGENT.password, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let after = me(&a, &agent).await["updated_at"].clone();
    assert_ne!(after, before, "at once on the replica that wrote it");
    shows_within_a_second(&b, &agent, "updated_at", &after).await;

    // and a login moves `last_login`
    let before = warm(&b, &agent).await["last_login"].clone();
    a.login_ok(PA_AGENT.email, new_password).await;
    let after = me(&a, &agent).await["last_login"].clone();
    assert_ne!(after, before, "at once on the replica that signed in");
    shows_within_a_second(&b, &agent, "last_login", &after).await;
}

#[tokio::test]
async fn the_replica_that_writes_shows_the_change_before_any_notice_reaches_it() {
    // this replica's notices are held in a stalled proxy: it keeps trusting its caches (until
    // its heartbeat gives up, seconds later), but hears of no change
    let notices = FaultProxy::start(server_addr()).await;
    let app = spawn_app_with(|s| {
        let via = url_via(s.database.url.expose(), notices.addr());
        s.database.listen_url = Some(Secret::new(via));
    })
    .await;
    listening(&app).await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    // the sign-ins' own notices (each wrote a last sign-in) may still be on their way: a change
    // announced after them shows only once they were all heard, so none can drop the cache
    // after the stall (seen under CI's load)
    let owner = app.db.owner().await;
    let id = PA_AGENT.id;
    for name in ["Settled", "Alice"] {
        let rename = format!("UPDATE users SET first_name = '{name}' WHERE id = '{id}'");
        exec(&owner, &rename).await;
        time_until(|| app.get_as(ME, &agent), |b| b["first_name"] == name).await;
    }
    warm(&app, &agent).await;
    notices.set(Mode::Stall);

    // a change only the trigger announces stays unseen: the notice is held
    exec(
        &owner,
        &format!("UPDATE users SET first_name = 'Unheard' WHERE id = '{id}'"),
    )
    .await;
    assert_eq!(
        me(&app, &agent).await["first_name"],
        "Alice",
        "cached, or this proves nothing"
    );

    let staff = format!("/api/v1/users/{id}");
    for (path, token, field, value) in [
        (ME, &agent, "first_name", json!("Renamed")),
        (staff.as_str(), &principal, "last_name", json!("Changed")),
    ] {
        let changed = patch(&app, path, token, json!({ field: value })).await;
        assert_eq!(me(&app, &agent).await[field], changed[field], "{path}");
    }
    let before = me(&app, &agent).await["updated_at"].clone();
    let resp = app
        .as_user(Method::POST, "/api/v1/auth/password", &agent)
        .json(&json!({"current_password": PA_AGENT.password, "new_password": "another good passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_ne!(
        me(&app, &agent).await["updated_at"],
        before,
        "password change"
    );
    let before = me(&app, &agent).await["last_login"].clone();
    app.login_ok(PA_AGENT.email, "another good passphrase")
        .await;
    assert_ne!(me(&app, &agent).await["last_login"], before, "login");
    assert!(
        app.state.auth.sessions.is_listening(),
        "the replica stopped trusting its caches meanwhile: this run proves nothing, run it again"
    );
}

#[tokio::test]
async fn a_change_made_in_sql_reaches_the_profile_on_every_replica_by_the_trigger() {
    let a = spawn_app().await;
    listening(&a).await;
    let b = ServerProcess::replica_of(&a, &[]).await;
    let on_a = a.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    let on_b = b.access_token(PA_AGENT.email, PA_AGENT.password).await;
    warm(&a, &on_a).await;
    // cached on B once B answers from its cache (it caches only once it listens)
    let started = Instant::now();
    loop {
        assert_eq!(b.get_as(ME, &on_b).await.status(), 200);
        if metric_value(&b.metrics().await, HIT).is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "B never cached"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let owner = a.db.owner().await;
    let id = PA_AGENT.id;

    // without the trigger nobody hears of the change: both keep answering from their caches
    exec(
        &owner,
        &format!(
            "ALTER TABLE people DISABLE TRIGGER people_notify_change; \
             UPDATE people SET first_name = 'Quiet' WHERE id = '{id}'; \
             ALTER TABLE people ENABLE TRIGGER people_notify_change"
        ),
    )
    .await;
    assert_eq!(
        me(&a, &on_a).await["first_name"],
        "Alice",
        "cached, or this proves nothing"
    );
    let body: Value = b.get_as(ME, &on_b).await.json().await.unwrap();
    assert_eq!(
        body["first_name"], "Alice",
        "cached on B, or this proves nothing"
    );

    // with it, the commit tells every replica
    exec(
        &owner,
        &format!("UPDATE users SET first_name = 'Loud' WHERE id = '{id}'"),
    )
    .await;
    shows_within_a_second(&a, &on_a, "first_name", &json!("Loud")).await;
    let took = time_until(|| b.get_as(ME, &on_b), |body| body["first_name"] == "Loud").await;
    assert!(took < Duration::from_secs(1), "B showed it after {took:?}");

    // a deactivation in SQL sends no revocation, yet the profile notice makes /auth/me read
    // the user again, and refuse them
    exec(
        &owner,
        &format!("UPDATE users SET is_active = false WHERE id = '{id}'"),
    )
    .await;
    let took = time_until(|| a.get_as(ME, &on_a), Value::is_null).await;
    assert!(took < Duration::from_secs(1), "A refused after {took:?}");
    let took = time_until(|| b.get_as(ME, &on_b), Value::is_null).await;
    assert!(took < Duration::from_secs(1), "B refused after {took:?}");
}

#[tokio::test]
async fn a_deactivated_or_deleted_user_is_refused_on_every_replica() {
    let (a, b) = two_replicas().await;
    let principal = a
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    for (user, password) in [
        (&PA_AGENT, PA_AGENT.password),
        (&PA_MANAGER, PA_MANAGER.password),
    ] {
        let token = a.login_ok(user.email, password).await.access;
        warm(&a, &token).await;
        warm(&b, &token).await;
        let resp = if user.id == PA_AGENT.id {
            let path = format!("/api/v1/users/{}/toggle-active", user.id);
            a.as_user(Method::PATCH, &path, &principal)
                .send()
                .await
                .unwrap()
        } else {
            let path = format!("/api/v1/users/{}", user.id);
            a.as_user(Method::DELETE, &path, &principal)
                .send()
                .await
                .unwrap()
        };
        assert!(
            resp.status().is_success(),
            "{}: {}",
            user.email,
            resp.status()
        );
        error_of(a.get_as(ME, &token).await, 401).await;
        let took = time_until(|| b.get_as(ME, &token), Value::is_null).await;
        assert!(
            took < Duration::from_secs(1),
            "{}: B refused after {took:?}",
            user.email
        );
    }
}
