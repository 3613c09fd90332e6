//! The tenants: created and suspended by the platform, profiles edited by their principals.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, METRO_MOTORS, MM_AGENT, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO,
    PREMIUM_AUTO_NORTH,
    Want::{Ids, Invalid, Page},
    case, check_cases, count, error_of,
    probes::{CACHED_PROBE, probe, sessions_where},
    spawn_app,
};

#[tokio::test]
async fn admins_create_list_and_edit_dealerships_with_conflicts_and_validation() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let create = |body: Value| {
        app.as_user(Method::POST, "/api/v1/dealerships", &admin)
            .json(&body)
            .send()
    };
    let created = create(json!({"name": "City Cars", "contact_email": "Hello@CityCars.com"}))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let city: Value = created.json().await.unwrap();
    assert_eq!(city["contact_email"], "hello@citycars.com");
    error_of(create(json!({"name": "city cars"})).await.unwrap(), 409).await;
    let invalid = create(json!({"name": " ", "contact_email": "nope", "contact_phone": "call me"}))
        .await
        .unwrap();
    assert_eq!(
        error_of(invalid, 422).await["details"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // the new dealership is listed to admins; everyone else lists only their own
    let city_id: Uuid = city["id"].as_str().unwrap().parse().unwrap();
    #[rustfmt::skip]
    let listed = [
        case(&ADMIN, "/api/v1/dealerships", Ids(vec![city_id, METRO_MOTORS, PREMIUM_AUTO, PREMIUM_AUTO_NORTH])),
        case(&PA_PRINCIPAL, "/api/v1/dealerships", Ids(vec![PREMIUM_AUTO])),
        case(&PA_MANAGER, "/api/v1/dealerships", Ids(vec![PREMIUM_AUTO])),
        case(&PA_AGENT, "/api/v1/dealerships", Ids(vec![PREMIUM_AUTO])),
        case(&MM_AGENT, "/api/v1/dealerships", Ids(vec![METRO_MOTORS])),
    ];
    check_cases(&app, &listed).await;

    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let edit = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &principal,
        )
        .json(&json!({"address": "2 New Street", "contact_phone": ""}))
        .send()
        .await
        .unwrap();
    let edited: Value = edit.json().await.unwrap();
    assert_eq!(
        (edited["address"].as_str(), edited["contact_phone"].as_str()),
        (Some("2 New Street"), None)
    );
    let suspend_own = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &principal,
        )
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    error_of(suspend_own, 403).await;
    let rename_to_taken = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &principal,
        )
        .json(&json!({"name": "Metro Motors"}))
        .send()
        .await
        .unwrap();
    error_of(rename_to_taken, 409).await;
}

#[tokio::test]
async fn the_dealership_list_pages_by_limit_and_offset_and_counts_every_match() {
    let app = spawn_app().await;
    #[rustfmt::skip]
    let cases = [
        // Page(rows of the unpaged answer, X-Total-Count)
        case(&ADMIN, "/api/v1/dealerships?limit=1", Page(0..1, 3)),
        case(&ADMIN, "/api/v1/dealerships?limit=1&offset=1", Page(1..2, 3)),
        case(&ADMIN, "/api/v1/dealerships?offset=2", Page(2..3, 3)),
        case(&ADMIN, "/api/v1/dealerships?limit=100&offset=1000000", Page(3..3, 3)),
        case(&PA_PRINCIPAL, "/api/v1/dealerships?limit=1", Page(0..1, 1)),
        case(&PA_PRINCIPAL, "/api/v1/dealerships?offset=1", Page(1..1, 1)),
        case(&ADMIN, "/api/v1/dealerships?limit=0", Invalid(&["limit"])),
        case(&ADMIN, "/api/v1/dealerships?limit=101", Invalid(&["limit"])),
        case(&ADMIN, "/api/v1/dealerships?offset=-1", Invalid(&["offset"])),
        case(&ADMIN, "/api/v1/dealerships?offset=1000001", Invalid(&["offset"])),
    ];
    check_cases(&app, &cases).await;
}

#[tokio::test]
async fn suspending_a_dealership_fails_its_users_tokens_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let metro = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    for t in [&principal, &agent, &metro] {
        assert_eq!(app.get_as("/api/v1/auth/me", &t.access).await.status(), 200);
        assert_eq!(probe(&app, &t.access).await, 200, "cached as live");
    }
    let suspended = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &admin,
        )
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), 200);
    for t in [&principal, &agent] {
        error_of(app.get_as("/api/v1/auth/me", &t.access).await, 401).await;
        // the cached state is dropped, not only the user re-read by /auth/me
        error_of(app.get_as(CACHED_PROBE, &t.access).await, 401).await;
        error_of(app.refresh(&t.refresh).await, 401).await;
    }
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 401).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &metro.access).await.status(),
        200,
        "other tenants unaffected"
    );

    let reactivated = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &admin,
        )
        .json(&json!({"is_active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(reactivated.status(), 200);
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn deleting_a_dealership_hides_it_frees_its_name_and_ends_its_sessions() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let metro = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    assert_eq!(probe(&app, &metro.access).await, 200, "cached as live");
    let owner = app.db.owner().await;
    let metro_sessions = format!("dealership_id = '{METRO_MOTORS}'");
    assert!(sessions_where(&owner, &metro_sessions).await.1 >= 1);
    let deleted = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/dealerships/{METRO_MOTORS}"),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    error_of(app.get_as("/api/v1/auth/me", &metro.access).await, 401).await;
    // its sessions end where they live: the cached state, the refresh token, the stored rows
    assert_eq!(
        probe(&app, &metro.access).await,
        401,
        "the cached session is dropped"
    );
    error_of(app.get_as(CACHED_PROBE, &metro.access).await, 401).await;
    error_of(app.refresh(&metro.refresh).await, 401).await;
    assert_eq!(
        sessions_where(&owner, &metro_sessions).await.1,
        0,
        "every Metro Motors session is revoked"
    );
    error_of(
        app.get_as(&format!("/api/v1/dealerships/{METRO_MOTORS}"), &admin)
            .await,
        404,
    )
    .await;
    let reuse = app
        .as_user(Method::POST, "/api/v1/dealerships", &admin)
        .json(&json!({"name": "Metro Motors"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 201);
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'dealership.deleted'"
        )
        .await,
        1
    );
}
