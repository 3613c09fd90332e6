//! The start-up posture check: the server refuses to serve when isolation is not real.

use dealergate::{config::Profile, startup::Application};

use crate::helpers::{TestDb, database_settings, error_of, exec, spawn_app, test_settings};

async fn build_error(settings: dealergate::config::Settings) -> String {
    match Application::build(settings).await {
        Ok(_) => panic!("the server must refuse to start"),
        Err(err) => format!("{err:#}"),
    }
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_table_is_no_longer_forced() {
    let db = TestDb::new().await;
    exec(
        &db.owner().await,
        "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("table users"), "{err}");
}

#[tokio::test]
async fn the_server_refuses_to_start_when_rls_is_disabled_or_a_table_lacks_it() {
    let db = TestDb::new().await;
    let owner = db.owner().await;
    exec(&owner, "ALTER TABLE sessions DISABLE ROW LEVEL SECURITY").await;
    exec(
        &owner,
        "CREATE TABLE invoices (id uuid PRIMARY KEY, dealership_id uuid)",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("table sessions"), "{err}");
    assert!(err.contains("table invoices"), "{err}");
}

#[tokio::test]
async fn readyz_fails_when_isolation_is_sabotaged_while_serving() {
    let app = spawn_app().await;
    exec(
        &app.db.owner().await,
        "ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY",
    )
    .await;
    let error = error_of(app.ops("/readyz").await, 503).await;
    let details = error["details"].as_array().unwrap();
    assert!(
        details.iter().any(|d| d["field"] == "isolation"
            && d["message"].as_str().unwrap().contains("audit_events")),
        "{error}"
    );
}

#[tokio::test]
async fn prod_refuses_a_superuser_connection_that_dev_only_warns_about() {
    let db = TestDb::new().await;
    let mut settings = test_settings(&db);
    settings.database = database_settings(db.owner_url(), 2);
    settings.profile = Profile::Dev;
    assert!(
        Application::build(settings.clone()).await.is_ok(),
        "dev accepts, with a warning"
    );

    settings.profile = Profile::Prod;
    let err = build_error(settings).await;
    assert!(err.contains("superuser"), "{err}");
    assert!(err.contains("owns the tables"), "{err}");
}

#[tokio::test]
async fn prod_accepts_the_unprivileged_login_role() {
    let db = TestDb::new().await;
    let mut settings = test_settings(&db);
    settings.profile = Profile::Prod;
    Application::build(settings)
        .await
        .expect("a NOINHERIT member of the runtime roles is the production posture");
}
