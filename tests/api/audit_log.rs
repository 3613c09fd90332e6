//! Every change leaves exactly one audit event, written with the change; principals read only
//! their dealership's events, by RLS.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, METRO_MOTORS, MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO,
    Want::{Ids, Invalid, Len, OnlyOf, Page, Refused},
    case, check_cases, error_of, spawn_app,
};

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

    // each filter alone and with others, and paging, over the events above
    let ids: Vec<Uuid> = trail
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let of = |i: &[usize]| Ids(i.iter().map(|&i| ids[i]).collect());
    let at = |query: &str| {
        format!("/api/v1/audit-events?{query}")
            .replace("{id}", id)
            .replace("{me}", &me)
            .replace("{nobody}", &Uuid::nil().to_string())
            .replace("{long_ago}", "2000-01-01T00:00:00Z")
    };
    let row = |query: &str, want| case(&PA_PRINCIPAL, at(query), want);
    #[rustfmt::skip]
    let cases = [
        row("action=user.created", of(&[4])),
        row("until={long_ago}", of(&[])),
        row("target_id={id}", of(&[0, 1, 2, 3, 4])),
        row("target_id={id}&action=user.updated", of(&[2, 3])),
        row("actor_id={me}&action=user.deleted", of(&[0])),
        row("actor_id={nobody}", of(&[])),
        row("target_id={id}&since={long_ago}", of(&[0, 1, 2, 3, 4])),
        row("target_id={id}&until={long_ago}", of(&[])),
        // Page(rows of the unpaged answer, X-Total-Count)
        row("target_id={id}&limit=2&offset=1", Page(1..3, 5)),
        row("target_id={id}&offset=5", Page(5..5, 5)),
        row("limit=101", Invalid(&["limit"])),
        row("offset=-1", Invalid(&["offset"])),
    ];
    check_cases(&app, &cases).await;
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
    #[rustfmt::skip]
    let cases = [
        case(&PA_PRINCIPAL, "/api/v1/audit-events", OnlyOf(PREMIUM_AUTO)),
        case(&MM_PRINCIPAL, "/api/v1/audit-events", OnlyOf(METRO_MOTORS)),
        // one failed login in each dealership: the admin sees both, a principal their own
        case(&ADMIN, "/api/v1/audit-events?action=login.failed", Len(2)),
        case(&PA_PRINCIPAL, "/api/v1/audit-events?action=login.failed", Len(1)),
        case(&MM_PRINCIPAL, "/api/v1/audit-events?action=login.failed", Len(1)),
        case(&PA_MANAGER, "/api/v1/audit-events", Refused(403)),
        case(&PA_AGENT, "/api/v1/audit-events", Refused(403)),
    ];
    check_cases(&app, &cases).await;
}
