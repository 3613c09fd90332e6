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
        "ALTER TABLE people NO FORCE ROW LEVEL SECURITY",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("table people"), "{err}");
}

#[tokio::test]
async fn the_server_refuses_to_start_when_a_view_reads_as_its_owner_or_people_lose_their_policy() {
    // a view that is not security_invoker reads its tables as its owner, past their RLS
    let db = TestDb::new().await;
    exec(
        &db.owner().await,
        "ALTER VIEW users SET (security_invoker = false)",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("view users"), "{err}");

    // people are read only through a live membership: a policy of any other shape is refused
    let db = TestDb::new().await;
    exec(
        &db.owner().await,
        "ALTER POLICY through_membership ON people USING (true)",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("people"), "{err}");
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

#[tokio::test]
async fn a_tenant_edits_its_profile_but_the_database_refuses_it_a_suspension() {
    use dealergate::testing::Scope;
    use sea_orm::ConnectionTrait;
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let tenant = Scope::Dealership(crate::helpers::PREMIUM_AUTO);
    for forbidden in [
        "UPDATE dealerships SET is_active = false",
        "UPDATE dealerships SET deleted_at = now()",
        "UPDATE users SET dealership_id = NULL",
        "UPDATE sessions SET absolute_expires_at = now() + interval '10 years'",
    ] {
        let tx = pool.begin(tenant).await.unwrap();
        let err = tx.execute_unprepared(forbidden).await.expect_err(forbidden);
        assert!(
            err.to_string().contains("permission denied"),
            "{forbidden}: {err}"
        );
    }
    let tx = pool.begin(tenant).await.unwrap();
    let renamed = tx
        .execute_unprepared("UPDATE dealerships SET address = '1 Main St', updated_at = now()")
        .await
        .unwrap();
    assert_eq!(
        renamed.rows_affected(),
        1,
        "its own profile, and only its own row"
    );
    tx.commit().await.unwrap();
    let tx = pool.begin(Scope::Platform).await.unwrap();
    tx.execute_unprepared("UPDATE dealerships SET is_active = true")
        .await
        .expect("the platform may suspend and reactivate");
}

#[tokio::test]
async fn the_server_refuses_to_start_when_the_tenant_role_may_suspend_dealerships() {
    let db = TestDb::new().await;
    exec(
        &db.owner().await,
        "GRANT UPDATE ON dealerships TO dealergate_app",
    )
    .await;
    let err = build_error(test_settings(&db)).await;
    assert!(err.contains("dealerships.is_active"), "{err}");
}
