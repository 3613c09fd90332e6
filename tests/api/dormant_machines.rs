//! Service accounts in the compliance evidence (issue 26, parts 3 and 4): the access review
//! lists them beside people, with their maker and the day they would go dormant; the
//! maintenance pass disables one unused for the days in force, its key refused at once and the
//! reason audited, and leaves a used one alone.

use reqwest::Method;
use serde_json::{Value, json};

use dealergate::testing::dormant;

use crate::helpers::{PA_PRINCIPAL, TestApp, count, exec, spawn_app_with};

/// A service account of Premium Auto made by its principal: (id, key).
async fn made(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/service-accounts",
            token,
            json!({"name": name, "role": "agent"}),
        )
        .await;
    assert_eq!(resp.status(), 201, "service account made");
    let made: Value = resp.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    (id, made["api_key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_unused_service_account_is_in_the_review_then_disabled_as_dormant() {
    let app = spawn_app_with(|s| {
        s.accounts.dormant_after_days = Some(90);
        s.maintenance.purge_interval_secs = 0;
    })
    .await;
    // people's clocks at now: only the machine is idle
    exec(
        &app.db.owner().await,
        "UPDATE memberships SET last_active_at = now()",
    )
    .await;
    let token = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (idle, idle_key) = made(&app, &token, "Old payroll export").await;
    let (busy, busy_key) = made(&app, &token, "DMS sync").await;
    assert_eq!(
        app.get_as("/api/v1/dealerships", &idle_key).await.status(),
        200
    );

    let review: Value = app
        .get_as("/api/v1/access-review", &token)
        .await
        .json()
        .await
        .unwrap();
    let entry = review
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!(idle))
        .expect("the service account is reviewed")
        .clone();
    assert_eq!(entry["kind"], "service_account");
    assert_eq!(entry["first_name"], "Old payroll export");
    assert_eq!(entry["created_by"], PA_PRINCIPAL.email);
    assert!(entry["dormant_at"].is_string(), "{entry}");
    assert!(
        !entry["attention"].to_string().contains("no_second_factor"),
        "a machine is not asked for a second factor: {entry}"
    );

    exec(
        &app.db.owner().await,
        &format!(
            "UPDATE service_accounts SET created_at = now() - interval '120 days', \
             last_used_at = now() - interval '100 days' WHERE id = '{idle}'"
        ),
    )
    .await;
    let done = dormant::run(&app.state).await.unwrap();
    assert_eq!(done.machines_disabled, 1);
    assert_eq!(done.deactivated, 0, "no person was idle");

    assert_eq!(
        app.get_as("/api/v1/dealerships", &idle_key).await.status(),
        401
    );
    assert_eq!(
        app.get_as("/api/v1/dealerships", &busy_key).await.status(),
        200
    );
    let owner = app.db.owner().await;
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'service_account.disabled' \
         AND target_id = '{idle}' AND changes->>'reason' = 'dormant'"
    );
    assert_eq!(count(&owner, &audited).await, 1);
    let untouched = format!(
        "SELECT count(*) AS n FROM service_accounts WHERE id = '{busy}' AND disabled_at IS NULL"
    );
    assert_eq!(count(&owner, &untouched).await, 1);

    // a second pass finds nothing more to do
    assert_eq!(dormant::run(&app.state).await.unwrap().machines_disabled, 0);
}
