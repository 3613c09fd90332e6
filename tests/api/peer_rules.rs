//! Nobody takes over a peer, and closing an account is as sensitive as changing its password:
//! an admin cannot strip another admin's second factor (an operator can, on the command line,
//! audited), and closing one's own account needs a recent code from whoever has an app.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    ADMIN, PA_AGENT, TestApp, count, dealergate, error_of,
    mfa::{enrol, sign_in},
    spawn_app_with,
};

const SECOND_ADMIN: &str = "second.admin@example.com";
const SECOND_PASSWORD: &str = "second admin passphrase";

async fn factors_of(app: &TestApp, email: &str) -> i64 {
    let sql = format!(
        "SELECT count(*) AS n FROM mfa_factors f JOIN users u ON u.id = f.person_id \
         WHERE u.email = '{email}'"
    );
    count(&app.db.owner().await, &sql).await
}

#[tokio::test]
async fn an_admin_cannot_reset_another_admins_factor_but_an_operator_can() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let second = app
        .create_user(&admin.access, SECOND_ADMIN, SECOND_PASSWORD, "admin")
        .await;
    let second_id = second["id"].as_str().unwrap();
    let tokens = app.login_ok(SECOND_ADMIN, SECOND_PASSWORD).await;
    let enrolled = enrol(&app, &tokens.access, SECOND_PASSWORD).await;
    let session = sign_in(&app, SECOND_ADMIN, SECOND_PASSWORD, &enrolled.app).await;

    let reset = format!("/api/v1/users/{second_id}/mfa");
    let refused = app
        .send_as(Method::DELETE, &reset, &admin.access, json!({}))
        .await;
    error_of(refused, 403).await;
    assert_eq!(factors_of(&app, SECOND_ADMIN).await, 1, "the factor stays");
    assert_eq!(
        app.get_as("/api/v1/auth/me", &session.access)
            .await
            .status(),
        200,
        "and so does the session"
    );

    let url = app.db.login_url();
    let env = [("DATABASE_URL", url.as_str())];
    let unknown = dealergate(
        &["admin", "reset-mfa", "--email", "nobody@example.com"],
        &env,
        None,
    );
    assert!(!unknown.status.success(), "{unknown:?}");
    let done = dealergate(&["admin", "reset-mfa", "--email", SECOND_ADMIN], &env, None);
    assert!(done.status.success(), "{done:?}");
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("1 factor(s) removed"),
        "{done:?}"
    );
    assert_eq!(factors_of(&app, SECOND_ADMIN).await, 0);
    // the command's revocation reaches the running server
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app
        .get_as("/api/v1/auth/me", &session.access)
        .await
        .status()
        != 401
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the session outlived the reset"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owner = app.db.owner().await;
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.reset' \
         AND target_id = '{second_id}' AND actor_id IS NULL AND changes->>'by' = 'operator'"
    );
    assert_eq!(count(&owner, &audited).await, 1);
    let noticed = format!(
        "SELECT count(*) AS n FROM mail_outbox WHERE recipient = '{SECOND_ADMIN}' \
         AND kind = 'mfa_factor_removed'"
    );
    assert_eq!(count(&owner, &noticed).await, 1, "the admin is told");
    // signs in with the password alone again
    app.login_ok(SECOND_ADMIN, SECOND_PASSWORD).await;
}

async fn close(app: &TestApp, token: &str) -> reqwest::Response {
    let body = json!({"current_password": PA_AGENT.password});
    app.send_as(Method::DELETE, "/api/v1/auth/me", token, body)
        .await
}

#[tokio::test]
async fn closing_an_account_with_an_app_needs_a_recent_code() {
    let app = spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = 2).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let session = sign_in(&app, PA_AGENT.email, PA_AGENT.password, &enrolled.app).await;
    // past the step-up age, which is counted in whole seconds of auth_time
    tokio::time::sleep(Duration::from_millis(3_500)).await;

    let stale = error_of(close(&app, &session.access).await, 403).await;
    assert_eq!(stale["type"], "step_up_required");
    let owner = app.db.owner().await;
    let open = format!(
        "SELECT count(*) AS n FROM users WHERE id = '{}' AND deleted_at IS NULL",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &open).await, 1, "still open");

    let code = enrolled.app.next_code().await;
    let stepped = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/step-up",
            &session.access,
            json!({"code": code}),
        )
        .await;
    assert_eq!(stepped.status(), 200);
    let fresh = stepped.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(close(&app, &fresh).await.status(), 204);
    assert_eq!(count(&owner, &open).await, 0, "closed");
}
