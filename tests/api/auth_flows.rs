//! Signing in, the caller's own account and sessions, signing out — for every demo role.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    DEMO_USERS, MM_AGENT, MM_MANAGER, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, TestApp, error_of, exec,
    spawn_app, spawn_app_with,
};

async fn me(app: &TestApp, token: &str) -> serde_json::Value {
    let resp = app.get_as("/api/v1/auth/me", token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn every_demo_role_signs_in_sees_itself_and_refreshes() {
    let app = spawn_app().await;
    for user in DEMO_USERS {
        let tokens = app.login_ok(user.email, user.password).await;
        assert_eq!(tokens.body["token_type"], "bearer");
        assert_eq!(tokens.body["expires_in"], 900);
        assert_eq!(tokens.body["user"]["role"], user.role.as_str());
        assert_eq!(tokens.body["user"]["id"], user.id.to_string());
        assert!(tokens.body["user"].get("password_hash").is_none());

        let me = me(&app, &tokens.access).await;
        assert_eq!(me["email"], user.email);
        assert_eq!(me["dealership_id"], json!(user.dealership));
        assert!(
            me["last_login"].is_string(),
            "last_login is set by the login"
        );

        let rotated = app.refresh_ok(&tokens.refresh).await;
        assert_ne!(rotated.refresh, tokens.refresh, "the refresh token rotates");
        assert_eq!(rotated.body["user"]["email"], user.email);
        assert_eq!(
            app.get_as("/api/v1/auth/me", &rotated.access)
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn the_oauth2_password_form_issues_tokens_for_every_role() {
    let app = spawn_app().await;
    for user in DEMO_USERS {
        let resp = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", user.email),
                ("password", user.password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", user.email);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(
            me(&app, body["access_token"].as_str().unwrap()).await["role"],
            user.role.as_str()
        );
    }
    let wrong_grant = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("username", PA_AGENT.email),
            ("password", PA_AGENT.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(wrong_grant, 422).await["details"][0]["field"],
        "grant_type"
    );
    let missing = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(missing, 422).await["details"][0]["field"],
        "username"
    );
}

#[tokio::test]
async fn email_matching_is_case_insensitive() {
    let app = spawn_app().await;
    app.login_ok("  AGENT@PremiumAuto.COM ", PA_AGENT.password)
        .await;
}

#[tokio::test]
async fn wrong_password_unknown_email_inactive_deleted_and_suspended_all_get_the_same_401() {
    let app = spawn_app().await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        "UPDATE users SET is_active = false WHERE email = 'manager@premiumauto.com'",
    )
    .await;
    exec(
        &owner,
        "UPDATE users SET deleted_at = now() WHERE email = 'manager@metromotors.com'",
    )
    .await;
    exec(
        &owner,
        "UPDATE dealerships SET is_active = false WHERE name = 'Metro Motors'",
    )
    .await;
    let attempts = [
        (PA_AGENT.email, "not-the-password"),
        ("nobody@premiumauto.com", PA_AGENT.password),
        (PA_MANAGER.email, PA_MANAGER.password),
        (MM_MANAGER.email, MM_MANAGER.password),
        (MM_AGENT.email, MM_AGENT.password),
    ];
    let mut bodies = Vec::new();
    for (email, password) in attempts {
        let resp = app.login(email, password).await;
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{email}");
        let error = error_of(resp, 401).await;
        bodies.push((error["type"].clone(), error["message"].clone()));
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for every failure: {bodies:?}"
    );
}

#[tokio::test]
async fn malformed_login_bodies_are_400_and_invalid_fields_422() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/auth/login");
    let raw = |body: &'static str| {
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        error_of(raw("{not json").await.unwrap(), 400).await["type"],
        "bad_request"
    );
    assert_eq!(
        error_of(raw("[]").await.unwrap(), 400).await["type"],
        "bad_request"
    );
    let missing = error_of(raw(r#"{"email":"a@b.co"}"#).await.unwrap(), 422).await;
    assert_eq!(missing["type"], "validation_error");
    let bad_email = error_of(app.login("not-an-email", "whatever1").await, 422).await;
    assert_eq!(bad_email["details"][0]["field"], "email");
    let no_type = app.client.post(&url).body("email=a").send().await.unwrap();
    assert_eq!(error_of(no_type, 400).await["type"], "bad_request");
}

#[tokio::test]
async fn a_user_edits_their_own_profile_with_validation_and_an_audit_event() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let resp = app
        .as_user(Method::PATCH, "/api/v1/auth/me", &tokens.access)
        .json(&json!({"first_name": "  Alicia ", "phone": "+1 (312) 555-0191"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let user: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        (user["first_name"].as_str(), user["phone"].as_str()),
        (Some("Alicia"), Some("+13125550191"))
    );
    assert_eq!(user["last_name"], "Premium", "untouched");

    let invalid = app
        .as_user(Method::PATCH, "/api/v1/auth/me", &tokens.access)
        .json(&json!({"first_name": "", "phone": "call me maybe"}))
        .send()
        .await
        .unwrap();
    let error = error_of(invalid, 422).await;
    let fields: Vec<_> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(fields, [json!("first_name"), json!("phone")]);

    let owner = app.db.owner().await;
    let events = crate::helpers::count(
        &owner,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.updated'",
    )
    .await;
    assert_eq!(
        events, 1,
        "one event for the change, none for the refused one"
    );
}

#[tokio::test]
async fn sessions_are_listed_with_the_current_one_marked_and_can_be_ended() {
    let app = spawn_app().await;
    let laptop = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let phone = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let list: Vec<serde_json::Value> = app
        .get_as("/api/v1/auth/sessions", &laptop.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let phone_session = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ended = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{phone_session}"),
            &laptop.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    error_of(app.get_as("/api/v1/auth/me", &phone.access).await, 401).await;
    error_of(app.refresh(&phone.refresh).await, 401).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &laptop.access).await.status(),
        200
    );

    let again = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{phone_session}"),
            &laptop.access,
        )
        .send()
        .await
        .unwrap();
    error_of(again, 404).await;
    let bad_id = app
        .as_user(
            Method::DELETE,
            "/api/v1/auth/sessions/not-a-uuid",
            &laptop.access,
        )
        .send()
        .await
        .unwrap();
    error_of(bad_id, 400).await;
}

#[tokio::test]
async fn another_users_session_cannot_be_ended_or_seen() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let agent_sessions: Vec<serde_json::Value> = app
        .get_as("/api/v1/auth/sessions", &agent.access)
        .await
        .json()
        .await
        .unwrap();
    let agent_session = agent_sessions[0]["id"].as_str().unwrap();
    let resp = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{agent_session}"),
            &principal.access,
        )
        .send()
        .await
        .unwrap();
    error_of(resp, 404).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent.access).await.status(),
        200
    );
    let seen: Vec<serde_json::Value> = app
        .get_as("/api/v1/auth/sessions", &principal.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let here = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let elsewhere = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let change = |current: &str, new: &str| {
        app.as_user(Method::POST, "/api/v1/auth/password", &here.access)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let weak = error_of(change(PA_AGENT.password, "password123").await.unwrap(), 422).await;
    assert_eq!(weak["details"][0]["field"], "new_password");
    let short = error_of(change(PA_AGENT.password, "short").await.unwrap(), 422).await;
    assert!(short["message"].as_str().unwrap().contains("at least 8"));
    let wrong = error_of(
        change("not my password", "a much better passphrase")
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(wrong["details"][0]["field"], "current_password");

    assert_eq!(
        change(PA_AGENT.password, "a much better passphrase")
            .await
            .unwrap()
            .status(),
        204
    );
    error_of(app.get_as("/api/v1/auth/me", &elsewhere.access).await, 401).await;
    error_of(app.refresh(&elsewhere.refresh).await, 401).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &here.access).await.status(),
        200
    );
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 401).await;
    app.login_ok(PA_AGENT.email, "a much better passphrase")
        .await;
}

#[tokio::test]
async fn logout_kills_the_access_token_on_the_very_next_request() {
    let app = spawn_app().await;
    for user in DEMO_USERS {
        let tokens = app.login_ok(user.email, user.password).await;
        assert_eq!(
            app.get_as("/api/v1/auth/me", &tokens.access).await.status(),
            200,
            "cached as live"
        );
        assert_eq!(
            app.post_as("/api/v1/auth/logout", &tokens.access)
                .await
                .status(),
            204
        );
        error_of(app.get_as("/api/v1/auth/me", &tokens.access).await, 401).await;
        error_of(app.refresh(&tokens.refresh).await, 401).await;
    }
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller_only() {
    let app = spawn_app().await;
    let first = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let second = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let colleague = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    for t in [&first, &second, &colleague] {
        assert_eq!(app.get_as("/api/v1/auth/me", &t.access).await.status(), 200);
    }
    assert_eq!(
        app.post_as("/api/v1/auth/logout-all", &second.access)
            .await
            .status(),
        204
    );
    for t in [&first, &second] {
        error_of(app.get_as("/api/v1/auth/me", &t.access).await, 401).await;
        error_of(app.refresh(&t.refresh).await, 401).await;
    }
    assert_eq!(
        app.get_as("/api/v1/auth/me", &colleague.access)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn cookie_mode_keeps_the_refresh_token_out_of_reach_of_scripts() {
    let app = spawn_app_with(|s| s.auth.cookie_mode = true).await;
    let resp = app.login(PA_AGENT.email, PA_AGENT.password).await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "not in the body in cookie mode"
    );

    let pair = cookie.split(';').next().unwrap().to_owned();
    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let rotated = refreshed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated.split(';').next().unwrap(), pair);
    let access = refreshed.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = app.post_as("/api/v1/auth/logout", &access).await;
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let without_cookie = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    error_of(without_cookie, 401).await;
}

#[tokio::test]
async fn failed_and_successful_logins_are_audited_without_secrets() {
    let app = spawn_app().await;
    error_of(app.login(PA_AGENT.email, "wrong-password").await, 401).await;
    error_of(app.login("ghost@example.com", "wrong-password").await, 401).await;
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let owner = app.db.owner().await;
    let failed = crate::helpers::count(
        &owner,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'login.failed'",
    )
    .await;
    let succeeded = crate::helpers::count(
        &owner,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'login.succeeded' AND dealership_id IS NOT NULL",
    )
    .await;
    assert_eq!((failed, succeeded), (2, 1));
    let leaked = crate::helpers::count(
        &owner,
        "SELECT count(*) AS n FROM audit_events WHERE changes::text LIKE '%wrong-password%' OR changes::text LIKE '%Agent123%'",
    )
    .await;
    assert_eq!(leaked, 0);
}
