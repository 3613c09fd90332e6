//! The platform in the browser: the admin signs in with the second step (the test computes
//! the code), creates a dealership on the dealerships page and suspends it; a token of its
//! principal stops working at once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, error_of, mfa, spawn_app};

use super::{Browser, confirm, sign_in_with_code, step_up_if_asked};

#[tokio::test]
async fn console_browser_admin_creates_a_dealership_and_suspending_it_ends_its_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let enrolled = mfa::enrol(&app, &admin.access, ADMIN.password).await;
    let b = Browser::open(&app).await;
    sign_in_with_code(&b, ADMIN.email, ADMIN.password, &enrolled.app).await;
    b.expect_page("Overview").await;

    b.open_page("/console/dealerships", "Dealerships").await;
    b.check_a11y("admin: dealerships").await;
    b.fill("Name", "City Cars").await;
    b.fill("Contact email", "hello@citycars.com").await;
    b.press("Create dealership").await;
    b.wait_for_text("City Cars").await;
    b.check_a11y("admin: dealership created").await;

    // a principal of the new dealership, signed in through the API
    let listed: Value = app
        .get_as("/api/v1/dealerships?limit=100", &enrolled.access)
        .await
        .json()
        .await
        .unwrap();
    let city = listed
        .as_array()
        .and_then(|l| l.iter().find(|d| d["name"] == "City Cars"))
        .unwrap_or_else(|| panic!("City Cars was created: {listed}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = app
        .as_user(Method::POST, "/api/v1/users", &enrolled.access)
        .json(
            &json!({"email": "owner@citycars.com", "password": "a long enough passphrase",
            "first_name": "Cora", "last_name": "City", "role": "principal", "dealership_id": city}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let owner = app
        .login_ok("owner@citycars.com", "a long enough passphrase")
        .await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &owner.access).await.status(),
        200
    );

    b.open_page("/console/dealerships", "Dealerships").await;
    b.screenshot("admin-dealerships.png").await;
    b.press("City Cars").await;
    b.expect_page("City Cars").await;
    b.check_a11y("admin: a dealership").await;
    confirm(&b, "Suspend", "Suspend City Cars").await;
    if step_up_if_asked(&b, &enrolled.app).await {
        confirm(&b, "Suspend", "Suspend City Cars").await;
    }
    b.wait_for_text("Suspended").await;
    b.check_a11y("admin: dealership suspended").await;
    // at once: no waiting for the access token to expire
    error_of(app.get_as("/api/v1/auth/me", &owner.access).await, 401).await;
    error_of(app.refresh(&owner.refresh).await, 401).await;

    // the rest of the platform's pages, under axe
    for (path, h1, name) in [
        ("/console/groups", "Dealer groups", "admin-groups"),
        ("/console/clients", "OpenID clients", "admin-clients"),
        ("/console/policy", "Policy", "admin-policy"),
        ("/console/audit", "Audit log", "admin-audit"),
        ("/console/staff", "Staff", "admin-staff"),
    ] {
        b.open_page(path, h1).await;
        b.check_a11y(&format!("admin: {h1}")).await;
        b.screenshot(&format!("{name}.png")).await;
    }
    b.close().await;
}
