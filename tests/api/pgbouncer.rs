//! Many replicas through PgBouncer in transaction mode (Debian's 1.18, which does not track
//! prepared statements): the server's pool goes through it with `database.transaction_pooling`,
//! the LISTEN connection goes direct (`database.listen_url`). PgBouncer's pool is smaller than
//! the server's, so the server's connections take turns on the same server connections.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use dealergate::{config::Secret, testing::Scope};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    DEMO_USERS, METRO_MOTORS, MM_AGENT, PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, TestDb,
    pgbouncer::PgBouncer,
    probes::{probe, time_until_probe_refused},
    start_with, test_settings,
};

/// A server whose pool goes through a PgBouncer of its own and whose LISTEN goes straight to
/// PostgreSQL; its replicas ([`TestApp::spawn_replica`]) share both.
async fn spawn_app_behind_pgbouncer() -> (TestApp, PgBouncer) {
    let db = Arc::new(TestDb::new().await);
    let bouncer = PgBouncer::start(&db.login_url()).await;
    let mut settings = test_settings(&db);
    settings.database.url = Secret::new(bouncer.url_for(&db.login_url()));
    settings.database.listen_url = Some(Secret::new(db.login_url()));
    settings.database.transaction_pooling = true;
    (start_with(db, settings).await, bouncer)
}

async fn json_of(resp: reqwest::Response, want: u16, bouncer: &PgBouncer) -> Value {
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(
        status.as_u16(),
        want,
        "{body}\nPgBouncer's log:\n{}",
        bouncer.log()
    );
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

async fn listening(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !app.state.auth.sessions.is_listening() {
        assert!(Instant::now() < deadline, "the listener never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn pgbouncer_login_refresh_and_concurrent_reads_work_in_transaction_mode() {
    let (app, bouncer) = spawn_app_behind_pgbouncer().await;
    let tokens = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let me = json_of(
        app.get_as("/api/v1/auth/me", &tokens.access).await,
        200,
        &bouncer,
    )
    .await;
    assert_eq!(me["email"], PA_PRINCIPAL.email, "{me}");

    // each refresh rotates: the new pair works, as many times as it is done
    let mut refresh = tokens.refresh.clone();
    for _ in 0..3 {
        let next = app.refresh_ok(&refresh).await;
        assert_ne!(next.refresh, refresh);
        json_of(
            app.get_as("/api/v1/users", &next.access).await,
            200,
            &bouncer,
        )
        .await;
        refresh = next.refresh;
    }

    // more requests at once than PgBouncer has server connections: every statement lands on
    // a server connection that other pooled connections used before
    let token = tokens.access.clone();
    let requests = (0..24).map(|i| {
        let path = match i % 3 {
            0 => "/api/v1/users".to_owned(),
            1 => format!("/api/v1/users/{}", PA_AGENT.id),
            _ => "/api/v1/users/count".to_owned(),
        };
        let request = app.as_user(Method::GET, &path, &token).send();
        async move { (path, request.await.expect("request sent")) }
    });
    for (path, resp) in futures_util::future::join_all(requests).await {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "GET {path}: {body}\n{}", bouncer.log());
    }
}

#[tokio::test]
async fn pgbouncer_user_create_patch_and_delete_work_in_transaction_mode() {
    let (app, bouncer) = spawn_app_behind_pgbouncer().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let t = &principal.access;

    let created = json_of(
        app.as_user(Method::POST, "/api/v1/users", t)
            .json(
                &json!({"email": "bouncer@premiumauto.com", "password": "a fine passphrase",
                          "first_name": "Pg", "last_name": "Bouncer", "role": "agent"}),
            )
            .send()
            .await
            .expect("request sent"),
        201,
        &bouncer,
    )
    .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["dealership_id"], PREMIUM_AUTO.to_string());
    // the new user can sign in: the hash was stored through the pooler
    app.login_ok("bouncer@premiumauto.com", "a fine passphrase")
        .await;

    let patched = json_of(
        app.as_user(Method::PATCH, &format!("/api/v1/users/{id}"), t)
            .json(&json!({"last_name": "Pooled"}))
            .send()
            .await
            .expect("request sent"),
        200,
        &bouncer,
    )
    .await;
    assert_eq!(patched["last_name"], "Pooled");
    let read = json_of(
        app.get_as(&format!("/api/v1/users/{id}"), t).await,
        200,
        &bouncer,
    )
    .await;
    assert_eq!(read["last_name"], "Pooled");

    let deleted = app
        .as_user(Method::DELETE, &format!("/api/v1/users/{id}"), t)
        .send()
        .await
        .expect("request sent");
    assert_eq!(deleted.status(), 204, "{}", bouncer.log());
    json_of(
        app.get_as(&format!("/api/v1/users/{id}"), t).await,
        404,
        &bouncer,
    )
    .await;
}

#[tokio::test]
async fn pgbouncer_keeps_dealerships_apart_and_leaves_no_setting_behind() {
    let (app, bouncer) = spawn_app_behind_pgbouncer().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;

    // another dealership's user does not exist for this principal
    json_of(
        app.get_as(&format!("/api/v1/users/{}", MM_AGENT.id), &principal.access)
            .await,
        404,
        &bouncer,
    )
    .await;
    let listed = json_of(
        app.get_as("/api/v1/users", &principal.access).await,
        200,
        &bouncer,
    )
    .await;
    let mut ids: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["id"].as_str().expect("an id"))
        .collect();
    ids.sort();
    let mut own: Vec<String> = DEMO_USERS
        .iter()
        .filter(|u| u.dealership == Some(PREMIUM_AUTO))
        .map(|u| u.id.to_string())
        .collect();
    own.sort();
    assert_eq!(
        ids, own,
        "the list shows exactly the own dealership's staff"
    );

    // underneath, through the same pool: the runtime role, the tenant and the statement
    // timeout hold for the transaction; the next transaction, on whichever server connection
    // PgBouncer gives it, starts from nothing
    let db = &app.state.db;
    for round in 0..6 {
        let tenant = if round % 2 == 0 {
            PREMIUM_AUTO
        } else {
            METRO_MOTORS
        };
        let tx = db.begin(Scope::Dealership(tenant)).await.expect("begin");
        let row = tx
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_user::text AS role, \
                        current_setting('statement_timeout') AS timeout, \
                        (SELECT count(*) FROM users) AS visible, \
                        (SELECT count(*) FROM users WHERE dealership_id <> \
                            current_setting('app.dealership_id')::uuid) AS foreign_rows",
            ))
            .await
            .expect("query in the tenant transaction")
            .expect("a row");
        assert_eq!(row.try_get::<String>("", "role").unwrap(), "dealergate_app");
        assert_eq!(row.try_get::<String>("", "timeout").unwrap(), "15s");
        assert!(row.try_get::<i64>("", "visible").unwrap() > 0);
        assert_eq!(row.try_get::<i64>("", "foreign_rows").unwrap(), 0);
        tx.commit().await.expect("commit");

        let tx = db.begin(Scope::Anonymous).await.expect("begin");
        let row = tx
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (SELECT count(*) FROM users) AS visible, \
                        coalesce(current_setting('app.dealership_id', true), '') AS tenant",
            ))
            .await
            .expect("query without a tenant")
            .expect("a row");
        assert_eq!(row.try_get::<i64>("", "visible").unwrap(), 0);
        assert_eq!(row.try_get::<String>("", "tenant").unwrap(), "");
        drop(tx);
    }
}

/// A logout and a deactivation on A reach B's session cache through the notices (the LISTEN
/// connection goes direct): B's cached probe refuses the token well before the cache's own 60 s
/// would. The time it took is printed; the bound is generous, as the machine may be loaded.
#[tokio::test]
async fn pgbouncer_replicas_drop_a_revoked_session_from_their_cache() {
    let (a, bouncer) = spawn_app_behind_pgbouncer().await;
    // the same settings (keys, URLs through the same PgBouncer), as another replica has
    let b = a.spawn_replica().await;
    listening(&a).await;
    listening(&b).await;

    // a logout on A
    let agent = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    // B has the session cached as live (the probe answers from the session cache alone)
    for _ in 0..2 {
        assert_eq!(probe(&b, &agent.access).await, 200, "{}", bouncer.log());
    }
    let out = a.post_as("/api/v1/auth/logout", &agent.access).await;
    assert_eq!(out.status(), 204, "{}", bouncer.log());
    let took = time_until_probe_refused(&b, &agent.access).await;
    eprintln!("replica B refused the logged-out token after {took:?}");

    // a deactivation on A, by the principal
    let agent = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let principal = a.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    assert_eq!(probe(&b, &agent.access).await, 200, "{}", bouncer.log());
    json_of(
        a.as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", PA_AGENT.id),
            &principal.access,
        )
        .json(&json!({"is_active": false}))
        .send()
        .await
        .expect("request sent"),
        200,
        &bouncer,
    )
    .await;
    let took = time_until_probe_refused(&b, &agent.access).await;
    eprintln!("replica B refused the deactivated user's token after {took:?}");
}

#[tokio::test]
async fn pgbouncer_serves_the_audit_export_page_after_page() {
    let (app, bouncer) = spawn_app_behind_pgbouncer().await;
    crate::helpers::exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO audit_events (dealership_id, action, target_type) \
             SELECT '{PREMIUM_AUTO}', 'test.bulk', 'test' FROM generate_series(1, 30)"
        ),
    )
    .await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (mut cursor, mut seen) = (String::new(), std::collections::HashSet::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 30 {
        assert!(Instant::now() < deadline, "exported {} of 30", seen.len());
        let resp = app
            .get_as(
                &format!("/api/v1/audit-events/export?limit=7&cursor={cursor}"),
                &principal,
            )
            .await;
        assert_eq!(resp.status(), 200, "PgBouncer's log:\n{}", bouncer.log());
        cursor = resp.headers()["x-next-cursor"].to_str().unwrap().to_owned();
        for line in resp.text().await.unwrap().lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            if event["action"] == "test.bulk" {
                assert!(
                    seen.insert(event["id"].to_string()),
                    "exported twice: {event}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
