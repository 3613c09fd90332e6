//! The directory's reads in one round trip (issue 27): they go through the second pool
//! (`application_name` `dealergate-read`) as the runtime role's transaction, which ends in the
//! same write it began in, so no connection of that pool is ever left inside a transaction; a
//! connection killed under it costs no request; with the pool off the reads still answer.

use serde_json::Value;

use crate::helpers::{PA_PRINCIPAL, TestApp, count, exec, spawn_app, spawn_app_with};

/// Backends of the read pool in the app's database, and how many of them are not idle.
async fn read_backends(app: &TestApp) -> (i64, i64) {
    let owner = app.db.owner().await;
    let of_db = format!(
        "FROM pg_stat_activity WHERE application_name = 'dealergate-read' AND datname = '{}'",
        app.db.name
    );
    let all = count(&owner, &format!("SELECT count(*) AS n {of_db}")).await;
    let busy = count(
        &owner,
        &format!("SELECT count(*) AS n {of_db} AND state <> 'idle'"),
    )
    .await;
    (all, busy)
}

async fn staff(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.get_as("/api/v1/users?limit=50", token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_directory_read_uses_the_read_pool_and_leaves_no_transaction_open() {
    let app = spawn_app().await;
    let token = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let listed = staff(&app, &token).await;
    assert!(listed.len() > 1, "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|u| u["dealership_id"] == listed[0]["dealership_id"])
    );
    assert!(listed.iter().all(|u| u.get("password_hash").is_none()));
    let id = listed[1]["id"].as_str().unwrap();
    let one = app.get_as(&format!("/api/v1/users/{id}"), &token).await;
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.unwrap();
    assert_eq!(one["email"], listed[1]["email"]);

    let (all, busy) = read_backends(&app).await;
    assert!(all >= 1, "the reads did not go through the read pool");
    assert_eq!(busy, 0, "a read connection was left inside a transaction");
}

#[tokio::test]
async fn read_connections_killed_under_the_pool_cost_no_request() {
    let app = spawn_app().await;
    let token = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let before = staff(&app, &token).await;
    assert!(read_backends(&app).await.0 >= 1);
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'dealergate-read' AND datname = '{}'",
            app.db.name
        ),
    )
    .await;
    let after = staff(&app, &token).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn with_the_read_pool_off_the_directory_reads_through_the_main_pool() {
    let app = spawn_app_with(|s| s.database.read_connections = 0).await;
    let token = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let listed = staff(&app, &token).await;
    assert!(listed.len() > 1);
    let id = listed[0]["id"].as_str().unwrap();
    assert_eq!(
        app.get_as(&format!("/api/v1/users/{id}"), &token)
            .await
            .status(),
        200
    );
    assert_eq!(read_backends(&app).await.0, 0);
}
