//! Open signup: `POST /auth/signup` with an `email` instead of an invitation is refused unless
//! `auth.open_signup` is enabled, and then only makes an unverified `agent` of the configured
//! dealership, whatever the body asks; every attempt is throttled per client IP and address.

use std::time::Duration;

use dealergate::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{
    METRO_MOTORS, PA_AGENT, PREMIUM_AUTO, TestApp, assert_locked, count, error_of, exec,
    smtp::{SmtpServer, mailing_app},
    spawn_app_with,
};

const SIGNUP: &str = "/api/v1/auth/signup";
const NEWCOMER: &str = "walk.in@example.com";
const PASSWORD: &str = "a long enough passphrase";

/// An app whose open signups join Metro Motors (not the first demo dealership, so a default
/// cannot pass for the configured one), mailing through its own SMTP server.
async fn spawn_open(configure: impl FnOnce(&mut Settings)) -> (TestApp, SmtpServer) {
    mailing_app(|s| {
        s.auth.open_signup.enabled = true;
        s.auth.open_signup.dealership_id = Some(METRO_MOTORS);
        configure(s);
    })
    .await
}

fn body_for(email: &str) -> Value {
    json!({"email": email, "password": PASSWORD, "first_name": "Wally", "last_name": "Walker"})
}

async fn sign_up(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json(SIGNUP, body_for(email)).await
}

async fn users_with(app: &TestApp, email: &str) -> i64 {
    let owner = app.db.owner().await;
    let sql = format!("SELECT count(*) AS n FROM users WHERE lower(email) = lower('{email}')");
    count(&owner, &sql).await
}

#[tokio::test]
async fn open_signup_is_off_by_default_and_creates_nobody() {
    let app = spawn_app_with(|_| {}).await;
    let refused = error_of(sign_up(&app, NEWCOMER).await, 403).await;
    assert_eq!(refused["type"], "forbidden");
    assert_eq!(refused["message"], "signup needs an invitation");
    assert_eq!(users_with(&app, NEWCOMER).await, 0);
    // even with a dealership configured, as long as it is not enabled
    let app = spawn_app_with(|s| s.auth.open_signup.dealership_id = Some(PREMIUM_AUTO)).await;
    error_of(sign_up(&app, NEWCOMER).await, 403).await;
    assert_eq!(users_with(&app, NEWCOMER).await, 0);
}

#[tokio::test]
async fn enabled_it_makes_an_unverified_agent_of_the_configured_dealership_who_is_mailed_a_link() {
    let (app, smtp) = spawn_open(|_| {}).await;
    let resp = sign_up(&app, NEWCOMER).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["email"], NEWCOMER);
    assert_eq!(user["role"], "agent");
    assert_eq!(user["dealership_id"], METRO_MOTORS.to_string());
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["first_name"], "Wally");
    let me = app
        .get_as("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);

    let mail = &smtp.wait_for(NEWCOMER, 1, Duration::from_secs(10)).await[0];
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your Metro Motors email address")
    );
    let verify = json!({"token": mail.token()});
    let verified = app.post_json("/api/v1/auth/verify-email", verify).await;
    assert_eq!(verified.status(), 204);
    let signed_in = app.login_ok(NEWCOMER, PASSWORD).await;
    assert_eq!(signed_in.body["user"]["email_verified"], true);

    let owner = app.db.owner().await;
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.signed_up' \
         AND actor_id = '{}' AND dealership_id = '{METRO_MOTORS}' \
         AND changes->>'by' = 'open_signup' AND changes->>'email' = '{NEWCOMER}'",
        user["id"].as_str().unwrap()
    );
    assert_eq!(count(&owner, &audited).await, 1);
}

#[tokio::test]
async fn a_role_or_dealership_in_the_body_chooses_nothing() {
    let (app, _smtp) = spawn_open(|_| {}).await;
    let mut body = body_for(NEWCOMER);
    body["role"] = json!("admin");
    body["dealership_id"] = json!(PREMIUM_AUTO);
    body["email_verified"] = json!(true);
    let resp = app.post_json(SIGNUP, body).await;
    assert_eq!(resp.status(), 201);
    let user = resp.json::<Value>().await.unwrap()["user"].clone();
    assert_eq!(user["role"], "agent");
    assert_eq!(user["dealership_id"], METRO_MOTORS.to_string());
    assert_eq!(user["email_verified"], false);
    let owner = app.db.owner().await;
    let stored = format!(
        "SELECT count(*) AS n FROM users WHERE email = '{NEWCOMER}' AND role = 'agent' \
         AND dealership_id = '{METRO_MOTORS}' AND email_verified_at IS NULL"
    );
    assert_eq!(count(&owner, &stored).await, 1);
}

#[tokio::test]
async fn an_address_of_a_live_user_is_409_and_a_weak_password_422() {
    let (app, _smtp) = spawn_open(|_| {}).await;
    let taken = error_of(sign_up(&app, PA_AGENT.email).await, 409).await;
    assert_eq!(taken["type"], "conflict");
    assert_eq!(users_with(&app, PA_AGENT.email).await, 1);
    let mut weak = body_for(NEWCOMER);
    weak["password"] = json!("short");
    let weak = error_of(app.post_json(SIGNUP, weak).await, 422).await;
    assert_eq!(weak["details"][0]["field"], "password");
    assert_eq!(users_with(&app, NEWCOMER).await, 0);
}

#[tokio::test]
async fn both_or_neither_of_email_and_invitation_token_is_422_naming_both() {
    let (app, _smtp) = spawn_open(|_| {}).await;
    let mut both = body_for(NEWCOMER);
    both["invitation_token"] = json!("0193a5f0-0000-7000-8000-000000000abc.secret");
    let mut neither = body_for(NEWCOMER);
    neither.as_object_mut().unwrap().remove("email");
    for body in [both, neither] {
        let err = error_of(app.post_json(SIGNUP, body.clone()).await, 422).await;
        let fields: Vec<_> = err["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["invitation_token", "email"], "{body}");
    }
    let malformed = error_of(sign_up(&app, "not an address").await, 422).await;
    assert_eq!(malformed["details"][0]["field"], "email");
    assert_eq!(users_with(&app, NEWCOMER).await, 0);
}

#[tokio::test]
async fn every_attempt_counts_against_the_client_ip_and_the_next_is_429() {
    let (app, _smtp) = spawn_open(|s| s.auth.lockout.ip_max_failures = 3).await;
    // a success, a taken address and a weak password: each a different address, all counted
    assert_eq!(sign_up(&app, NEWCOMER).await.status(), 201);
    error_of(sign_up(&app, PA_AGENT.email).await, 409).await;
    let mut weak = body_for("second@example.com");
    weak["password"] = json!("short");
    error_of(app.post_json(SIGNUP, weak).await, 422).await;
    assert_locked(sign_up(&app, "third@example.com").await).await;
    assert_eq!(users_with(&app, "third@example.com").await, 0);
    // logins have counters of their own
    app.login_ok(NEWCOMER, PASSWORD).await;
}

#[tokio::test]
async fn attempts_for_one_address_are_counted_too() {
    let (app, _smtp) = spawn_open(|s| s.auth.lockout.account_max_failures = 2).await;
    let mut weak = body_for(NEWCOMER);
    weak["password"] = json!("short");
    for _ in 0..2 {
        error_of(app.post_json(SIGNUP, weak.clone()).await, 422).await;
    }
    assert_locked(sign_up(&app, NEWCOMER).await).await;
    assert_eq!(users_with(&app, NEWCOMER).await, 0);
    assert_eq!(sign_up(&app, "other@example.com").await.status(), 201);
}

#[tokio::test]
async fn a_suspended_or_deleted_configured_dealership_is_403_and_creates_nobody() {
    let (app, _smtp) = spawn_open(|_| {}).await;
    let owner = app.db.owner().await;
    for (change, undo) in [
        ("is_active = false", "is_active = true"),
        ("deleted_at = now()", "deleted_at = NULL"),
    ] {
        let set = |what: &str| format!("UPDATE dealerships SET {what} WHERE id = '{METRO_MOTORS}'");
        exec(&owner, &set(change)).await;
        let closed = error_of(sign_up(&app, NEWCOMER).await, 403).await;
        assert_eq!(closed["message"], "signup is closed", "{change}");
        assert_eq!(users_with(&app, NEWCOMER).await, 0);
        exec(&owner, &set(undo)).await;
    }
    assert_eq!(sign_up(&app, NEWCOMER).await.status(), 201);
}

#[tokio::test]
async fn with_verified_email_required_the_user_is_created_and_mailed_but_not_signed_in() {
    let (app, smtp) = spawn_open(|s| s.auth.require_verified_email = true).await;
    let unverified = error_of(sign_up(&app, NEWCOMER).await, 403).await;
    assert_eq!(unverified["type"], "email_not_verified");
    assert_eq!(users_with(&app, NEWCOMER).await, 1);
    let owner = app.db.owner().await;
    let sessions = "SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id \
                    WHERE u.email = 'walk.in@example.com'";
    assert_eq!(count(&owner, sessions).await, 0);
    let mail = &smtp.wait_for(NEWCOMER, 1, Duration::from_secs(10)).await[0];
    let verify = json!({"token": mail.token()});
    let verified = app.post_json("/api/v1/auth/verify-email", verify).await;
    assert_eq!(verified.status(), 204);
    app.login_ok(NEWCOMER, PASSWORD).await;
}
