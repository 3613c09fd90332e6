//! The admin's platform pages in the console: dealerships (create, suspend, group placement),
//! dealer groups and their members, the OpenID clients ([`clients`]), and the policy in force
//! with its reload ([`policy`]), which shows and audits (once) the rules it added and removed.
//! Principals get the not-allowed page.

mod clients;
mod policy;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, METRO_MOTORS, MM_PRINCIPAL, PA_PRINCIPAL, PREMIUM_AUTO, TestApp,
    console::{Console, Page},
    count, mfa, spawn_app, spawn_app_with,
};

/// The id at the end of a redirect to `/console/<list>/<id>`.
fn id_in(page: &Page) -> Uuid {
    let to = page.location.as_deref().expect("a redirect");
    to.rsplit('/').next().unwrap().parse().expect("an id")
}

pub(super) async fn admin_token(app: &TestApp) -> String {
    app.login_ok(ADMIN.email, ADMIN.password).await.access
}

#[tokio::test]
async fn admin_creates_a_dealership_and_suspending_it_refuses_its_users_tokens_at_once() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    let list = console.get("/console/dealerships").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.shows("Premium Auto") && list.shows("Metro Motors"));
    let created = console
        .post(
            "/console/dealerships",
            &[
                ("name", "Westside Cars"),
                ("address", "1 Main Street"),
                ("contact_email", "sales@westside.example.com"),
                ("contact_phone", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = id_in(&created);
    let shown = console.follow(&created).await;
    assert!(shown.shows("Westside Cars was created."), "{}", shown.body);
    let admin = admin_token(&app).await;
    let api: Value = app
        .get_as(&format!("/api/v1/dealerships/{id}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["name"], "Westside Cars");
    assert_eq!(api["contact_email"], "sales@westside.example.com");
    let owner = app.db.owner().await;
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'dealership.created' \
         AND target_id = '{id}'"
    );
    assert_eq!(count(&owner, &audited).await, 1);

    // a person of the new dealership, signed in through the API
    let made = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &admin,
            json!({"email": "seller@westside.example.com", "password": "Seller123!@#",
                "first_name": "Sam", "last_name": "Seller", "role": "agent", "dealership_id": id}),
        )
        .await;
    assert_eq!(made.status(), 201);
    let seller = app
        .login_ok("seller@westside.example.com", "Seller123!@#")
        .await
        .access;
    assert_eq!(app.get_as("/api/v1/auth/me", &seller).await.status(), 200);

    let suspended = console
        .post(
            &format!("/console/dealerships/{id}/active"),
            &[("is_active", "false")],
        )
        .await;
    assert_eq!(
        suspended.status,
        StatusCode::SEE_OTHER,
        "{}",
        suspended.body
    );
    let shown = console.follow(&suspended).await;
    assert!(shown.shows("Westside Cars is suspended"), "{}", shown.body);
    assert!(shown.shows("Reactivate"));
    assert_eq!(app.get_as("/api/v1/auth/me", &seller).await.status(), 401);
    let updated = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'dealership.updated' \
         AND target_id = '{id}' AND changes->'is_active'->>'after' = 'false'"
    );
    assert_eq!(count(&owner, &updated).await, 1);
}

#[tokio::test]
async fn admin_sees_a_taken_name_and_invalid_fields_on_the_form_as_the_api_says() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    console.get("/console/dealerships").await;
    let taken = console
        .post("/console/dealerships", &[("name", "Premium Auto")])
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.shows("A dealership with this name already exists."),
        "{}",
        taken.body
    );
    assert!(
        taken.body.contains("value=\"Premium Auto\""),
        "what was typed stays"
    );
    let invalid = console
        .post(
            "/console/dealerships",
            &[("name", ""), ("contact_email", "not an address")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.body.contains("id=\"e-name\""), "{}", invalid.body);
    assert!(invalid.body.contains("id=\"e-contact_email\""));
    let owner = app.db.owner().await;
    let made =
        "SELECT count(*) AS n FROM dealerships WHERE name = '' OR contact_email = 'not an address'";
    assert_eq!(count(&owner, made).await, 0);
}

#[tokio::test]
async fn admin_pages_are_the_not_allowed_page_for_a_principal() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    for path in [
        "/console/dealerships".to_owned(),
        format!("/console/dealerships/{PREMIUM_AUTO}"),
        "/console/groups".to_owned(),
        "/console/policy".to_owned(),
    ] {
        let page = console.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.shows("Not allowed"), "{path}: {}", page.body);
    }
    let home = console.get("/console").await;
    assert!(
        !home.body.contains("href=\"/console/dealerships\""),
        "not in the menu"
    );
    let refused = console
        .post("/console/dealerships", &[("name", "Sneaky Cars")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reload = console.post("/console/policy/reload", &[]).await;
    assert_eq!(reload.status, StatusCode::FORBIDDEN);
    let owner = app.db.owner().await;
    let made = "SELECT count(*) AS n FROM dealerships WHERE name = 'Sneaky Cars'";
    assert_eq!(count(&owner, made).await, 0);
    // start-up's own load is audited (policy.loaded); a refused reload leaves nothing
    let audited = "SELECT count(*) AS n FROM audit_events \
                   WHERE action LIKE 'policy.%' AND action <> 'policy.loaded'";
    assert_eq!(count(&owner, audited).await, 0);
}

#[tokio::test]
async fn admin_creates_a_group_places_a_dealership_in_it_and_adds_a_member() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    console.get("/console/groups").await;
    let created = console
        .post("/console/groups", &[("name", "Metro Group")])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let group = id_in(&created);
    assert!(
        console
            .follow(&created)
            .await
            .shows("Metro Group was created.")
    );

    let page = console
        .get(&format!("/console/dealerships/{METRO_MOTORS}"))
        .await;
    assert!(page.shows("Metro Group"), "offered: {}", page.body);
    let placed = console
        .post(
            &format!("/console/dealerships/{METRO_MOTORS}/group"),
            &[("group_id", &group.to_string())],
        )
        .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let shown = console.follow(&placed).await;
    assert!(shown.shows("Take it out of Metro Group"), "{}", shown.body);
    let admin = admin_token(&app).await;
    let api: Value = app
        .get_as(&format!("/api/v1/dealer-groups/{group}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["dealership_ids"], json!([METRO_MOTORS]));

    console.get(&format!("/console/groups/{group}")).await;
    let added = console
        .post(
            &format!("/console/groups/{group}/members"),
            &[("email", MM_PRINCIPAL.email), ("role", "group_manager")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = console.follow(&added).await;
    assert!(page.shows(MM_PRINCIPAL.email) && page.shows("Group manager"));
    let unknown = console
        .post(
            &format!("/console/groups/{group}/members"),
            &[("email", "nobody@example.com"), ("role", "group_manager")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("id=\"e-email\""), "{}", unknown.body);

    // not empty: the API's 409, shown on the group's page, and the group stays
    let refused = console
        .post(&format!("/console/groups/{group}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.shows("The group still has dealerships or members"));
    let owner = app.db.owner().await;
    for (action, n) in [
        ("dealer_group.created", 1),
        ("dealer_group.dealership_added", 1),
        ("group_membership.created", 1),
        ("dealer_group.deleted", 0),
    ] {
        let sql = format!("SELECT count(*) AS n FROM audit_events WHERE action = '{action}'");
        assert_eq!(count(&owner, &sql).await, n, "{action}");
    }
}

#[tokio::test]
async fn admin_with_an_app_is_asked_to_step_up_before_suspending_as_the_api_asks() {
    let app = spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = 1).await;
    let enrolled = mfa::enrol(&app, &admin_token(&app).await, ADMIN.password).await;
    let mut console = Console::new(&app);
    let step = console.sign_in(ADMIN.email, ADMIN.password).await;
    let token = step
        .body
        .split("name=\"mfa_token\" value=\"")
        .nth(1)
        .unwrap();
    let token = token[..token.find('"').unwrap()].to_owned();
    let code = enrolled.app.next_code().await;
    let fields = [("mfa_token", token.as_str()), ("code", code.as_str())];
    let signed_in = console.post("/console/sign-in/code", &fields).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    console
        .get(&format!("/console/dealerships/{METRO_MOTORS}"))
        .await;
    let suspend = [("is_active", "false")];
    let path = format!("/console/dealerships/{METRO_MOTORS}/active");
    let asked = console.post(&path, &suspend).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(asked.location.as_deref(), Some("/console/step-up"));
    let owner = app.db.owner().await;
    let active =
        format!("SELECT count(*) AS n FROM dealerships WHERE id = '{METRO_MOTORS}' AND is_active");
    assert_eq!(count(&owner, &active).await, 1, "nothing changed");
}
