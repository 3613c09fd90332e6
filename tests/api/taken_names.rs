//! Whether an email or a phone number belongs to an account is told to a signed-in caller only
//! a few times a window: creating or editing users with other accounts' addresses and numbers
//! answers 409 until the lockout's account limit, then 429 — before any work, and on every
//! path alike (`POST /users`, `PATCH /users/{id}`, `PATCH /auth/me`). An email that signs in
//! elsewhere tells nothing on `POST /users`: it is invited and answered as a new one (issue 22).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_PRINCIPAL, error_of, spawn_app_with};

fn three_answers(s: &mut dealergate::config::Settings) {
    s.auth.lockout.account_max_failures = 3;
    s.auth.lockout.ip_max_failures = 1_000;
}

#[tokio::test]
async fn probing_other_dealerships_addresses_and_numbers_is_throttled_per_caller() {
    let app = spawn_app_with(three_answers).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let create = |email: &str, phone: Option<&str>| {
        json!({"email": email, "password": "a long enough passphrase", "first_name": "Pro",
               "last_name": "Be", "role": "agent", "phone": phone})
    };
    // an email of another dealership is invited, as a new one would be: nothing told, not counted
    let invited = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &principal.access,
            create(MM_PRINCIPAL.email, None),
        )
        .await;
    assert_eq!(invited.status(), 201);
    // an email of another dealership by an edit, a phone of another dealership, a phone by an
    // edit
    let edit = format!("/api/v1/users/{}", PA_AGENT.id);
    let probe = app
        .send_as(
            Method::PATCH,
            &edit,
            &principal.access,
            json!({"email": MM_PRINCIPAL.email}),
        )
        .await;
    error_of(probe, 409).await;
    let probe = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &principal.access,
            create("fresh.one@premiumauto.com", MM_AGENT.phone),
        )
        .await;
    error_of(probe, 409).await;
    let probe = app
        .send_as(
            Method::PATCH,
            &edit,
            &principal.access,
            json!({"phone": MM_PRINCIPAL.phone}),
        )
        .await;
    error_of(probe, 409).await;
    // the fourth is refused whatever it asks, on every path
    for (method, path, body) in [
        (Method::POST, "/api/v1/users", create(MM_AGENT.email, None)),
        (
            Method::PATCH,
            edit.as_str(),
            json!({"email": MM_AGENT.email}),
        ),
        (
            Method::PATCH,
            "/api/v1/auth/me",
            json!({"phone": MM_AGENT.phone}),
        ),
    ] {
        let refused = app.send_as(method, path, &principal.access, body).await;
        assert_eq!(refused.status(), 429, "{path}");
        assert!(refused.headers().contains_key("retry-after"));
    }
    // another caller is not affected, and free names still work for everyone
    let other = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await;
    let probe = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/users/{}", MM_AGENT.id),
            &other.access,
            json!({"email": PA_AGENT.email}),
        )
        .await;
    error_of(probe, 409).await;
    let fresh = app
        .send_as(
            Method::PATCH,
            &edit,
            &principal.access,
            json!({"first_name": "Renamed"}),
        )
        .await;
    assert_eq!(
        fresh.status(),
        200,
        "an edit that names no address or number"
    );
}

/// Probes sent all at once get exactly the answers a sequence would: each is judged under the
/// caller's lock and counted before its answer leaves.
#[tokio::test]
async fn a_burst_of_probes_gets_no_more_answers_than_the_limit() {
    let app = spawn_app_with(three_answers).await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let taken = [MM_AGENT.phone, MM_PRINCIPAL.phone, PA_PRINCIPAL.phone];
    let probes = (0..20).map(|n| {
        let phone = taken[n % taken.len()];
        app.send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &agent.access,
            json!({"phone": phone}),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(probes)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let told = statuses.iter().filter(|s| **s == 409).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((told, refused), (3, 17), "{statuses:?}");
}
