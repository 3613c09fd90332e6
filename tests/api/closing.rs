//! Closing one's own account (`DELETE /auth/me`): the current password, a soft delete that
//! ends every session on every replica, an audit event and a mailed notice; never the last
//! active principal of a dealership or the last active admin, not even two at once.

use std::time::Duration;

use dealergate::config::Secret;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{
    ADMIN, DemoUser, PA_AGENT, PA_PRINCIPAL, TestApp, count, error_of,
    probes::{listening, probe, time_until_probe_refused},
    smtp::SmtpServer,
    spawn_app, spawn_app_with,
};

const ME: &str = "/api/v1/auth/me";
const NEW_PASSWORD: &str = "a fine passphrase";

async fn close(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.as_user(Method::DELETE, ME, token)
        .json(&json!({"current_password": password}))
        .send()
        .await
        .unwrap()
}

/// A new user of `role`, made through the API by `by` (in `by`'s dealership); their id.
async fn hire(app: &TestApp, by: &DemoUser, email: &str, role: &str) -> Uuid {
    let token = app.login_ok(by.email, by.password).await.access;
    let created = app.create_user(&token, email, NEW_PASSWORD, role).await;
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn closed_events(app: &TestApp, id: Uuid) -> i64 {
    count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'user.account_closed' \
             AND actor_id = '{id}' AND target_id = '{id}'"
        ),
    )
    .await
}

async fn is_deleted(app: &TestApp, id: Uuid) -> bool {
    count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM users WHERE id = '{id}' \
             AND deleted_at IS NOT NULL AND NOT is_active"
        ),
    )
    .await
        == 1
}

#[tokio::test]
async fn an_agent_closes_their_account_every_session_ends_everywhere_and_a_notice_is_mailed() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let a = spawn_app_with(|s| s.mail.smtp_url = Some(Secret::new(url))).await;
    let b = a.spawn_replica().await;
    listening(&a).await;
    listening(&b).await;
    let here = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let there = a.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(probe(&b, &there.access).await, 200, "cached live on B");

    let resp = close(&a, &here.access, PA_AGENT.password).await;
    assert_eq!(resp.status(), 204);

    // the closing token is refused at once; the other session on the other replica too
    error_of(a.get_as(ME, &here.access).await, 401).await;
    assert_eq!(probe(&a, &here.access).await, 401);
    // B answers from its session cache (60 s): a 401 there means the notice dropped the entry
    let took = time_until_probe_refused(&b, &there.access).await;
    eprintln!("the closed account's session was refused on replica B after {took:?}");
    error_of(a.refresh(&there.refresh).await, 401).await;
    error_of(a.refresh(&here.refresh).await, 401).await;
    error_of(a.login(PA_AGENT.email, PA_AGENT.password).await, 401).await;

    assert!(is_deleted(&a, PA_AGENT.id).await);
    assert_eq!(closed_events(&a, PA_AGENT.id).await, 1);
    let live = count(
        &a.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL",
            PA_AGENT.id
        ),
    )
    .await;
    assert_eq!(live, 0, "every session row is revoked");

    let notice = smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await;
    let text = notice[0].text();
    assert!(
        text.contains("Your Premium Auto account was closed"),
        "{text}"
    );
    assert!(text.contains(PA_AGENT.email), "{text}");

    // the address is free for a new user
    let again = hire(&a, &PA_PRINCIPAL, PA_AGENT.email, "agent").await;
    assert_ne!(again, PA_AGENT.id);
}

#[tokio::test]
async fn a_wrong_or_missing_password_closes_nothing() {
    let app = spawn_app().await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;

    let wrong = error_of(close(&app, &agent.access, "not my password").await, 422).await;
    assert_eq!(wrong["details"][0]["field"], "current_password", "{wrong}");
    let empty = app
        .as_user(Method::DELETE, ME, &agent.access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(empty, 422).await["type"], "validation_error");
    let blank = error_of(close(&app, &agent.access, "").await, 422).await;
    assert_eq!(blank["type"], "validation_error");
    let no_body = app
        .as_user(Method::DELETE, ME, &agent.access)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    // no document at all is malformed (400), as on every JSON route; `{}` is a missing field
    assert_eq!(error_of(no_body, 400).await["type"], "bad_request");

    assert_eq!(app.get_as(ME, &agent.access).await.status(), 200);
    app.refresh_ok(&agent.refresh).await;
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert!(!is_deleted(&app, PA_AGENT.id).await);
    assert_eq!(closed_events(&app, PA_AGENT.id).await, 0);
}

#[tokio::test]
async fn the_last_active_principal_of_a_dealership_cannot_close_their_account_until_another_exists()
{
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let refused = error_of(
        close(&app, &principal.access, PA_PRINCIPAL.password).await,
        409,
    )
    .await;
    assert_eq!(refused["type"], "conflict");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("last active principal"),
        "{refused}"
    );
    assert_eq!(app.get_as(ME, &principal.access).await.status(), 200);
    assert!(!is_deleted(&app, PA_PRINCIPAL.id).await);

    // an inactive principal does not count
    let second = hire(&app, &PA_PRINCIPAL, "second@premiumauto.com", "principal").await;
    let owner = app.db.owner().await;
    crate::helpers::exec(
        &owner,
        &format!("UPDATE users SET is_active = false WHERE id = '{second}'"),
    )
    .await;
    error_of(
        close(&app, &principal.access, PA_PRINCIPAL.password).await,
        409,
    )
    .await;
    crate::helpers::exec(
        &owner,
        &format!("UPDATE users SET is_active = true WHERE id = '{second}'"),
    )
    .await;

    assert_eq!(
        close(&app, &principal.access, PA_PRINCIPAL.password)
            .await
            .status(),
        204
    );
    assert!(is_deleted(&app, PA_PRINCIPAL.id).await);
    // and now the second one is the last
    let last = app.login_ok("second@premiumauto.com", NEW_PASSWORD).await;
    error_of(close(&app, &last.access, NEW_PASSWORD).await, 409).await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_close_their_account_until_another_exists() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let refused = error_of(close(&app, &admin.access, ADMIN.password).await, 409).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("last active admin"),
        "{refused}"
    );
    assert!(!is_deleted(&app, ADMIN.id).await);

    hire(&app, &ADMIN, "second-admin@example.com", "admin").await;
    assert_eq!(
        close(&app, &admin.access, ADMIN.password).await.status(),
        204
    );
    assert!(is_deleted(&app, ADMIN.id).await);
    assert_eq!(closed_events(&app, ADMIN.id).await, 1);
    let last = app.login_ok("second-admin@example.com", NEW_PASSWORD).await;
    error_of(close(&app, &last.access, NEW_PASSWORD).await, 409).await;
}

/// Two principals closing at the same moment: each would see the other without the lock and
/// both would leave. Several rounds, each with a freshly hired second principal.
#[tokio::test]
async fn of_two_principals_closing_at_once_exactly_one_leaves() {
    let app = spawn_app().await;
    let mut stayer = (
        PA_PRINCIPAL.email.to_owned(),
        PA_PRINCIPAL.password.to_owned(),
    );
    for round in 0..4 {
        let email = format!("principal-{round}@premiumauto.com");
        let token = app.login_ok(&stayer.0, &stayer.1).await.access;
        app.create_user(&token, &email, NEW_PASSWORD, "principal")
            .await;
        let newcomer = app.login_ok(&email, NEW_PASSWORD).await.access;
        let (one, two) = tokio::join!(
            close(&app, &token, &stayer.1),
            close(&app, &newcomer, NEW_PASSWORD)
        );
        let mut statuses = [one.status().as_u16(), two.status().as_u16()];
        if statuses[0] == 204 {
            stayer = (email, NEW_PASSWORD.to_owned());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 409], "round {round}");
        let live_principals = count(
            &app.db.owner().await,
            &format!(
                "SELECT count(*) AS n FROM users WHERE dealership_id = '{}' \
                 AND role = 'principal' AND is_active AND deleted_at IS NULL",
                crate::helpers::PREMIUM_AUTO
            ),
        )
        .await;
        assert_eq!(live_principals, 1, "round {round}");
    }
}

#[tokio::test]
async fn deleting_oneself_through_the_staff_route_points_to_auth_me() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let resp = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/users/{}", PA_PRINCIPAL.id),
            &principal.access,
        )
        .send()
        .await
        .unwrap();
    let error = error_of(resp, 422).await;
    assert!(
        error["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("DELETE /api/v1/auth/me"),
        "{error}"
    );
}
