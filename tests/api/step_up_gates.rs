//! Every step-up gate of docs/security.md's MFA section that `mfa_policy.rs` does not walk through:
//! creating a principal (as a user, and by invitation), deleting a user, changing and deleting
//! a custom role, suspending and deleting a dealership, reloading the policy. Each is asked of
//! a caller whose app's last code is older than `auth.mfa.step_up_max_age_secs`: `403
//! step_up_required` and nothing changes in the database; after `POST /auth/mfa/step-up` the
//! same request goes through.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, DemoUser, METRO_MOTORS, MM_AGENT, PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, count,
    error_of,
    mfa::{Authenticator, claims, enrol},
    spawn_app_with,
};

/// How recent a code must be. Short, so a test waits a few seconds for its token to age, yet
/// long enough for the request right after a step-up to go through on a loaded machine.
const MAX_AGE_SECS: u64 = 4;

/// A signed-in caller with a confirmed app.
struct Caller {
    /// The access token the confirmation answered: fresh now, stale after [`Caller::age`].
    token: String,
    app: Authenticator,
}

impl Caller {
    /// Signs `who` in and enrols an app for them.
    async fn enrolled(app: &TestApp, who: &DemoUser) -> Self {
        let plain = app.login_ok(who.email, who.password).await;
        let enrolled = enrol(app, &plain.access, who.password).await;
        assert_eq!(claims(&enrolled.access)["amr"], json!(["pwd", "otp"]));
        Self {
            token: enrolled.access,
            app: enrolled.app,
        }
    }

    /// Waits until the token's last code is older than the step-up age.
    async fn age(&self) {
        tokio::time::sleep(Duration::from_millis(MAX_AGE_SECS * 1_000 + 1_500)).await;
    }

    /// `POST /auth/mfa/step-up` with the app's next code: a fresh access token, same session.
    async fn step_up(&self, app: &TestApp) -> String {
        let code = self.app.next_code().await;
        let resp = app
            .send_as(
                Method::POST,
                "/api/v1/auth/mfa/step-up",
                &self.token,
                json!({"code": code}),
            )
            .await;
        assert_eq!(resp.status(), 200, "stepped up");
        let fresh = resp.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(claims(&fresh)["sid"], claims(&self.token)["sid"]);
        fresh
    }
}

async fn spawn() -> TestApp {
    spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = MAX_AGE_SECS).await
}

/// A caller whose code has aged past the step-up limit.
async fn stale(app: &TestApp, who: &DemoUser) -> Caller {
    let caller = Caller::enrolled(app, who).await;
    caller.age().await;
    caller
}

async fn assert_step_up_required(resp: reqwest::Response, what: &str) {
    assert_eq!(
        error_of(resp, 403).await["type"],
        "step_up_required",
        "{what}"
    );
}

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

/// `POST /roles` with the caller's fresh token: a custom role of Premium Auto to change later.
async fn custom_role(app: &TestApp, caller: &Caller) -> String {
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/roles",
            &caller.token,
            json!({"name": "closer", "base_role": "agent", "permissions": []}),
        )
        .await;
    assert_eq!(resp.status(), 201, "role created while the code is fresh");
    resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn creating_a_principal_user_needs_a_recent_code() {
    let app = spawn().await;
    let principal = stale(&app, &PA_PRINCIPAL).await;
    let body = json!({"email": "second.principal@premiumauto.com", "password": "Second-Principal-42!",
        "first_name": "Second", "last_name": "Principal", "role": "principal"});
    let users = "SELECT count(*) AS n FROM users WHERE email = 'second.principal@premiumauto.com'";

    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &principal.token,
            body.clone(),
        )
        .await;
    assert_step_up_required(resp, "POST /users as principal").await;
    assert_eq!(n(&app, users).await, 0, "nobody was created");
    // an agent is no principal: no step-up for that
    let agent = json!({"email": "new.agent@premiumauto.com", "password": "New-Agent-Pass-42!",
        "first_name": "New", "last_name": "Agent", "role": "agent"});
    let resp = app
        .send_as(Method::POST, "/api/v1/users", &principal.token, agent)
        .await;
    assert_eq!(resp.status(), 201, "an agent needs no recent code");

    let fresh = principal.step_up(&app).await;
    let resp = app
        .send_as(Method::POST, "/api/v1/users", &fresh, body)
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(n(&app, users).await, 1);
}

#[tokio::test]
async fn inviting_a_principal_needs_a_recent_code() {
    let app = spawn().await;
    let principal = stale(&app, &PA_PRINCIPAL).await;
    let body = json!({"email": "invited.principal@premiumauto.com", "role": "principal"});
    let invitations =
        "SELECT count(*) AS n FROM invitations WHERE email = 'invited.principal@premiumauto.com'";

    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/invitations",
            &principal.token,
            body.clone(),
        )
        .await;
    assert_step_up_required(resp, "POST /invitations as principal").await;
    assert_eq!(n(&app, invitations).await, 0, "nobody was invited");
    let mails = "SELECT count(*) AS n FROM mail_outbox \
                 WHERE recipient = 'invited.principal@premiumauto.com'";
    assert_eq!(n(&app, mails).await, 0, "no link was mailed");

    let fresh = principal.step_up(&app).await;
    let resp = app
        .send_as(Method::POST, "/api/v1/invitations", &fresh, body)
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(n(&app, invitations).await, 1);
}

#[tokio::test]
async fn deleting_a_user_needs_a_recent_code() {
    let app = spawn().await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let principal = stale(&app, &PA_PRINCIPAL).await;
    let path = format!("/api/v1/users/{}", PA_AGENT.id);
    let deleted = format!(
        "SELECT count(*) AS n FROM users WHERE id = '{}' AND deleted_at IS NOT NULL",
        PA_AGENT.id
    );

    let resp = app
        .send_as(Method::DELETE, &path, &principal.token, json!({}))
        .await;
    assert_step_up_required(resp, "DELETE /users/{id}").await;
    assert_eq!(n(&app, &deleted).await, 0, "the agent is not deleted");
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent.access).await.status(),
        200,
        "and still signed in"
    );

    let fresh = principal.step_up(&app).await;
    let resp = app.send_as(Method::DELETE, &path, &fresh, json!({})).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(n(&app, &deleted).await, 1);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent.access).await.status(),
        401
    );
}

#[tokio::test]
async fn changing_a_custom_role_needs_a_recent_code() {
    let app = spawn().await;
    let principal = Caller::enrolled(&app, &PA_PRINCIPAL).await;
    let id = custom_role(&app, &principal).await;
    principal.age().await;
    let path = format!("/api/v1/roles/{id}");
    let named =
        |name: &str| format!("SELECT count(*) AS n FROM custom_roles WHERE name = '{name}'");

    let rename = json!({"name": "finisher"});
    let resp = app
        .send_as(Method::PATCH, &path, &principal.token, rename.clone())
        .await;
    assert_step_up_required(resp, "PATCH /roles/{id}").await;
    assert_eq!(n(&app, &named("closer")).await, 1, "the role is unchanged");
    assert_eq!(n(&app, &named("finisher")).await, 0);

    let fresh = principal.step_up(&app).await;
    let resp = app.send_as(Method::PATCH, &path, &fresh, rename).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(n(&app, &named("finisher")).await, 1);
}

#[tokio::test]
async fn deleting_a_custom_role_needs_a_recent_code() {
    let app = spawn().await;
    let principal = Caller::enrolled(&app, &PA_PRINCIPAL).await;
    let id = custom_role(&app, &principal).await;
    principal.age().await;
    let path = format!("/api/v1/roles/{id}");
    let exists = format!("SELECT count(*) AS n FROM custom_roles WHERE id = '{id}'");

    let resp = app
        .send_as(Method::DELETE, &path, &principal.token, json!({}))
        .await;
    assert_step_up_required(resp, "DELETE /roles/{id}").await;
    assert_eq!(n(&app, &exists).await, 1, "the role is still there");

    let fresh = principal.step_up(&app).await;
    let resp = app.send_as(Method::DELETE, &path, &fresh, json!({})).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(n(&app, &exists).await, 0);
}

#[tokio::test]
async fn suspending_a_dealership_needs_a_recent_code() {
    let app = spawn().await;
    let staff = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    let admin = stale(&app, &ADMIN).await;
    let path = format!("/api/v1/dealerships/{METRO_MOTORS}");
    let suspended = format!(
        "SELECT count(*) AS n FROM dealerships WHERE id = '{METRO_MOTORS}' AND NOT is_active"
    );
    let suspend = json!({"is_active": false});

    let resp = app
        .send_as(Method::PATCH, &path, &admin.token, suspend.clone())
        .await;
    assert_step_up_required(resp, "PATCH /dealerships/{id} is_active=false").await;
    assert_eq!(n(&app, &suspended).await, 0, "still active");
    assert_eq!(
        app.get_as("/api/v1/auth/me", &staff.access).await.status(),
        200,
        "its staff still signed in"
    );
    // what is not sensitive goes through with the same stale token
    let resp = app
        .send_as(
            Method::PATCH,
            &path,
            &admin.token,
            json!({"address": "1 Main St"}),
        )
        .await;
    assert_eq!(resp.status(), 200, "a profile edit needs no recent code");

    let fresh = admin.step_up(&app).await;
    let resp = app.send_as(Method::PATCH, &path, &fresh, suspend).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(n(&app, &suspended).await, 1);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &staff.access).await.status(),
        401
    );
}

#[tokio::test]
async fn deleting_a_dealership_needs_a_recent_code() {
    let app = spawn().await;
    let staff = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    let admin = stale(&app, &ADMIN).await;
    let path = format!("/api/v1/dealerships/{METRO_MOTORS}");
    let deleted = format!(
        "SELECT count(*) AS n FROM dealerships WHERE id = '{METRO_MOTORS}' AND deleted_at IS NOT NULL"
    );

    let resp = app
        .send_as(Method::DELETE, &path, &admin.token, json!({}))
        .await;
    assert_step_up_required(resp, "DELETE /dealerships/{id}").await;
    assert_eq!(n(&app, &deleted).await, 0, "not deleted");
    assert_eq!(
        app.get_as("/api/v1/auth/me", &staff.access).await.status(),
        200,
        "its staff still signed in"
    );
    // the other dealership is untouched either way
    let other = format!(
        "SELECT count(*) AS n FROM dealerships WHERE id = '{PREMIUM_AUTO}' AND deleted_at IS NULL"
    );

    let fresh = admin.step_up(&app).await;
    let resp = app.send_as(Method::DELETE, &path, &fresh, json!({})).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(n(&app, &deleted).await, 1);
    assert_eq!(n(&app, &other).await, 1);
}

#[tokio::test]
async fn reloading_the_policy_needs_a_recent_code() {
    let app = spawn_app_with(|s| {
        s.auth.mfa.step_up_max_age_secs = MAX_AGE_SECS;
        s.policies.watch = false;
    })
    .await;
    let admin = stale(&app, &ADMIN).await;
    let reloads = "SELECT count(*) AS n FROM audit_events \
                   WHERE action IN ('policy.reloaded', 'policy.rejected')";

    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/admin/policies/reload",
            &admin.token,
            json!({}),
        )
        .await;
    assert_step_up_required(resp, "POST /admin/policies/reload").await;
    assert_eq!(n(&app, reloads).await, 0, "no reload ran");
    // reading what is in force is not sensitive
    let resp = app.get_as("/api/v1/admin/policies", &admin.token).await;
    assert_eq!(resp.status(), 200);

    let fresh = admin.step_up(&app).await;
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/admin/policies/reload",
            &fresh,
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(n(&app, reloads).await, 1);
}
