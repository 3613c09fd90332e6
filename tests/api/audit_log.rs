//! Every change leaves exactly one audit event, written with the change; principals read only
//! their dealership's events, by RLS.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, MM_AGENT, PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, error_of, spawn_app};

async fn events(app: &crate::helpers::TestApp, token: &str, query: &str) -> Vec<Value> {
    let resp = app
        .get_as(&format!("/api/v1/audit-events{query}"), token)
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn create_update_toggle_delete_and_revoke_each_leave_one_event_with_actor_and_changes() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let me = principal.body["user"]["id"].as_str().unwrap().to_owned();
    let t = &principal.access;
    let created: Value = app
        .as_user(Method::POST, "/api/v1/users", t)
        .json(&json!({"email": "audit@premiumauto.com", "password": "a fine passphrase", "first_name": "Au", "last_name": "Dit", "role": "agent"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    app.as_user(Method::PATCH, &format!("/api/v1/users/{id}"), t)
        .json(&json!({"last_name": "Log"}))
        .send()
        .await
        .unwrap();
    app.as_user(
        Method::PATCH,
        &format!("/api/v1/users/{id}/toggle-active"),
        t,
    )
    .send()
    .await
    .unwrap();
    app.post_as(&format!("/api/v1/users/{id}/sessions/revoke"), t)
        .await;
    app.as_user(Method::DELETE, &format!("/api/v1/users/{id}"), t)
        .send()
        .await
        .unwrap();

    let trail = events(&app, t, &format!("?target_id={id}")).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.deleted",
            "session.revoked_all",
            "user.updated",
            "user.updated",
            "user.created"
        ]
    );
    assert!(trail.iter().all(|e| e["actor_id"] == me.as_str() && e["dealership_id"] == PREMIUM_AUTO.to_string()));
    assert!(trail.iter().all(|e| e["request_id"].is_string()));
    assert_eq!(
        trail[3]["changes"]["last_name"],
        json!({"before": "Dit", "after": "Log"})
    );
    assert_eq!(
        trail[2]["changes"]["is_active"],
        json!({"before": true, "after": false})
    );
    assert!(
        !trail
            .iter()
            .any(|e| e["changes"].to_string().contains("passphrase"))
    );

    let filtered = events(&app, t, "?action=user.created").await;
    assert_eq!(filtered.len(), 1);
    let until_past = events(&app, t, "?until=2000-01-01T00:00:00Z").await;
    assert!(until_past.is_empty());
}

#[tokio::test]
async fn a_refused_change_leaves_no_event() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    // the duplicate email fails inside the transaction that would have written the event
    let dup = app
        .as_user(Method::POST, "/api/v1/users", &principal)
        .json(&json!({"email": PA_AGENT.email, "password": "a fine passphrase", "first_name": "A", "last_name": "B", "role": "agent"}))
        .send()
        .await
        .unwrap();
    error_of(dup, 409).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    assert!(
        events(&app, &admin, "?action=user.created")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn principals_see_only_their_dealerships_events_and_agents_none() {
    let app = spawn_app().await;
    error_of(app.login(MM_AGENT.email, "wrong-password").await, 401).await;
    error_of(app.login(PA_AGENT.email, "wrong-password").await, 401).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let seen = events(&app, &principal, "").await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|e| e["dealership_id"] == PREMIUM_AUTO.to_string()),
        "{seen:?}"
    );
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let all = events(&app, &admin, "?action=login.failed").await;
    assert_eq!(all.len(), 2);
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    error_of(app.get_as("/api/v1/audit-events", &agent).await, 403).await;
}
