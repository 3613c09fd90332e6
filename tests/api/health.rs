//! Probes and the API description.

use crate::helpers::{error_of, spawn_app};

#[tokio::test]
async fn healthz_answers_ok_without_touching_the_database() {
    let app = spawn_app().await;
    app.db.drop_now().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_reports_database_migrations_and_isolation_ready() {
    let app = spawn_app().await;
    let resp = app.ops("/readyz").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"],
        serde_json::json!(["database", "migrations", "isolation", "policy"])
    );
    assert_eq!(body["policy"]["hash"].as_str().map(str::len), Some(64));
}

#[tokio::test]
async fn readyz_is_unavailable_fast_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.drop_now().await;
    let started = std::time::Instant::now();
    let error = error_of(app.ops("/readyz").await, 503).await;
    assert_eq!(error["type"], "unavailable");
    assert_eq!(error["details"][0]["field"], "database");
    // fail fast, never hang: bounded by the ping and connect timeouts, far below the client's
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn readyz_turns_unready_when_shutdown_begins_and_the_server_then_stops_cleanly() {
    let mut app = spawn_app().await;
    app.state.begin_shutdown();
    let error = error_of(app.ops("/readyz").await, 503).await;
    assert_eq!(error["details"][0]["field"], "shutdown");
    app.stop()
        .await
        .expect("the server drains and stops cleanly");
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let resp = app.get("/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let spec: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(spec["info"]["title"], "dealergate");
    assert!(spec["paths"]["/readyz"]["get"].is_object());
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
