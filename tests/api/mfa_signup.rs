//! Signing up where a second factor is required: by invitation or by open signup, into a
//! dealership with `mfa_required` or as a role of `auth.mfa.required_roles`, the new user's
//! token may only enrol (`mfa: must_enrol`; anything else `403 mfa_enrolment_required`).

use std::time::Duration;

use dealergate::{config::Settings, domain::Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, PA_PRINCIPAL, PREMIUM_AUTO, TestApp,
    mfa::{claims, start_enrolment},
    smtp::{SmtpServer, mailing_app},
};

const SIGNUP: &str = "/api/v1/auth/signup";
const NEWCOMER: &str = "nora.new@premiumauto.com";
const PASSWORD: &str = "a long enough passphrase";

/// Premium Auto requires a second factor from now on (switched by the admin, who has none and
/// so is not asked to step up).
async fn require_mfa_at_premium_auto(app: &TestApp) {
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let resp = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            &admin.access,
            json!({"mfa_required": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

/// `inviter` invites [`NEWCOMER`] as `role` into Premium Auto; the invitation's token.
async fn invitation(app: &TestApp, smtp: &SmtpServer, inviter: (&str, &str), role: &str) -> String {
    let token = app.login_ok(inviter.0, inviter.1).await.access;
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/invitations",
            &token,
            json!({"email": NEWCOMER, "role": role, "dealership_id": PREMIUM_AUTO}),
        )
        .await;
    assert_eq!(resp.status(), 201, "invited");
    smtp.wait_for(NEWCOMER, 1, Duration::from_secs(10)).await[0].token()
}

async fn sign_up(app: &TestApp, body: Value) -> String {
    let mut body = body;
    body["password"] = json!(PASSWORD);
    body["first_name"] = json!("Nora");
    body["last_name"] = json!("Newman");
    let resp = app.post_json(SIGNUP, body).await;
    assert_eq!(resp.status(), 201, "signed up");
    resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The new user's token may only enrol: `must_enrol`, `/auth/me` and enrolling work, their
/// sessions (any user's own, otherwise) are `403 mfa_enrolment_required`, and so is the list
/// of users.
async fn assert_may_only_enrol(app: &TestApp, access: &str) {
    assert_eq!(claims(access)["mfa"], "must_enrol", "{}", claims(access));
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 200);
    for path in ["/api/v1/auth/sessions", "/api/v1/users"] {
        let resp = app.get_as(path, access).await;
        assert_eq!(resp.status(), 403, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "mfa_enrolment_required", "{path}");
    }
    start_enrolment(app, access, PASSWORD).await;
}

fn open_signup_to_premium_auto(s: &mut Settings) {
    s.auth.open_signup.enabled = true;
    s.auth.open_signup.dealership_id = Some(PREMIUM_AUTO);
}

#[tokio::test]
async fn an_invitation_into_a_dealership_requiring_mfa_signs_up_a_user_who_must_enrol() {
    let (app, smtp) = mailing_app(|_| {}).await;
    require_mfa_at_premium_auto(&app).await;
    let token = invitation(&app, &smtp, (ADMIN.email, ADMIN.password), "agent").await;
    let access = sign_up(&app, json!({"invitation_token": token})).await;
    assert_may_only_enrol(&app, &access).await;
}

#[tokio::test]
async fn an_invitation_as_a_required_role_signs_up_a_user_who_must_enrol() {
    let (app, smtp) = mailing_app(|s| s.auth.mfa.required_roles = vec![Role::Manager]).await;
    let inviter = (PA_PRINCIPAL.email, PA_PRINCIPAL.password);
    let token = invitation(&app, &smtp, inviter, "manager").await;
    let access = sign_up(&app, json!({"invitation_token": token})).await;
    assert_may_only_enrol(&app, &access).await;
}

#[tokio::test]
async fn open_signup_into_a_dealership_requiring_mfa_signs_up_a_user_who_must_enrol() {
    let (app, _smtp) = mailing_app(open_signup_to_premium_auto).await;
    require_mfa_at_premium_auto(&app).await;
    let access = sign_up(&app, json!({"email": NEWCOMER})).await;
    assert_may_only_enrol(&app, &access).await;
}

#[tokio::test]
async fn open_signup_as_a_required_role_signs_up_a_user_who_must_enrol() {
    let (app, _smtp) = mailing_app(|s| {
        open_signup_to_premium_auto(s);
        s.auth.mfa.required_roles = vec![Role::Agent];
    })
    .await;
    let access = sign_up(&app, json!({"email": NEWCOMER})).await;
    assert_may_only_enrol(&app, &access).await;
}
