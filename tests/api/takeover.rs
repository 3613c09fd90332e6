//! Nobody takes over a peer: the password, email, role and activity of a user of one's own rank
//! or above change only by that user (through `/auth/me` and `/auth/password`), or by the
//! operator's `dealergate admin` for admins.

use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PA_PRINCIPAL, TestApp, count, error_of, spawn_app};

const PEER_PASSWORD: &str = "a fine passphrase";

async fn create(app: &TestApp, token: &str, email: &str, role: &str) -> String {
    let created = app.create_user(token, email, PEER_PASSWORD, role).await;
    created["id"].as_str().unwrap().to_owned()
}

/// `id`'s stored row, every column, as the superuser reads it.
async fn row_of(app: &TestApp, id: &str) -> String {
    app.db
        .owner()
        .await
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT u::text AS row FROM users u WHERE id = '{id}'"),
        ))
        .await
        .unwrap()
        .expect("the user's row")
        .try_get::<String>("", "row")
        .unwrap()
}

/// Every account change a caller might try on `target`.
fn takeovers() -> [(Method, &'static str, Value); 6] {
    [
        (Method::PATCH, "", json!({"password": "taken over 12345"})),
        (Method::PATCH, "", json!({"email": "mine@example.com"})),
        (Method::PATCH, "", json!({"role": "agent"})),
        (Method::PATCH, "", json!({"is_active": false})),
        (Method::PATCH, "/toggle-active", json!({})),
        (Method::DELETE, "", json!({})),
    ]
}

#[tokio::test]
async fn a_principal_cannot_take_over_a_peer_principal() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let peer = create(&app, &principal, "peer@premiumauto.com", "principal").await;
    let stored = row_of(&app, &peer).await;
    for (method, suffix, body) in takeovers() {
        let path = format!("/api/v1/users/{peer}{suffix}");
        let resp = app
            .send_as(method.clone(), &path, &principal, body.clone())
            .await;
        error_of(resp, 403).await;
        assert_eq!(row_of(&app, &peer).await, stored, "{method} {path} {body}");
    }
    // the peer's profile is staff data the principal may still correct
    let renamed = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/users/{peer}"),
            &principal,
            json!({"first_name": "Corrected"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    app.login_ok("peer@premiumauto.com", PEER_PASSWORD).await;
    let owner = app.db.owner().await;
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM users WHERE email = 'peer@premiumauto.com' AND role = 'principal' AND is_active AND deleted_at IS NULL").await,
        1
    );
}

#[tokio::test]
async fn an_admin_cannot_take_over_another_admin() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let other = create(&app, &admin, "ops2@example.com", "admin").await;
    let stored = row_of(&app, &other).await;
    for (method, suffix, body) in takeovers() {
        let path = format!("/api/v1/users/{other}{suffix}");
        let resp = app
            .send_as(method.clone(), &path, &admin, body.clone())
            .await;
        error_of(resp, 403).await;
        // the role, email, password, activity and deletion stay as they were
        assert_eq!(row_of(&app, &other).await, stored, "{method} {path} {body}");
    }
    let signed_in = app.login_ok("ops2@example.com", PEER_PASSWORD).await;
    assert_eq!(signed_in.body["user"]["role"], "admin");
}

#[tokio::test]
async fn staff_below_the_callers_rank_stay_manageable() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let manager = create(&app, &principal, "newmanager@premiumauto.com", "manager").await;
    let path = format!("/api/v1/users/{manager}");
    let resp = app
        .send_as(
            Method::PATCH,
            &path,
            &principal,
            json!({"email": "renamed@premiumauto.com", "password": "reset by the principal"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    app.login_ok("renamed@premiumauto.com", "reset by the principal")
        .await;
}

#[tokio::test]
async fn ones_own_email_changes_only_through_the_confirmed_change() {
    let app = spawn_app().await;
    let me = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let my_id = app
        .get_as("/api/v1/auth/me", &me)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // not through the staff endpoint, which asks for no password
    let staff = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/users/{my_id}"),
            &me,
            json!({"email": "boss@premiumauto.com"}),
        )
        .await;
    let refused = error_of(staff, 422).await;
    assert_eq!(refused["details"][0]["field"], "email");
    assert!(
        refused["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/email")
    );
    // nor the profile update, which has no email (email_change.rs tests the confirmed change)
    let profile = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &me,
            json!({"email": "boss@premiumauto.com", "current_password": PA_PRINCIPAL.password}),
        )
        .await;
    assert_eq!(profile.status(), 200);
    app.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    error_of(
        app.login("boss@premiumauto.com", PA_PRINCIPAL.password)
            .await,
        401,
    )
    .await;
}
