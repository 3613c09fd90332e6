//! What a client's tokens open and how they end: a third-party access token is for userinfo
//! only, a first-party one is the API's own; revocation (RFC 7009) and introspection (RFC
//! 7662); RP-initiated logout ends the sign-in and every family of it.

use reqwest::StatusCode;

use super::{
    rp::{self, LOGOUT_TO, Registered, Spec},
    steps::{self, first_party, third_party, tokens_and_browser, tokens_for, userinfo_status},
};
use crate::helpers::{PA_AGENT, TestApp, console::Console, spawn_app};

/// `POST /oauth2/{endpoint}` with `token`, authenticated as `client` (basic when it has a
/// secret, else `client_id` alone).
async fn call(
    app: &TestApp,
    client: &Registered,
    endpoint: &str,
    token: &str,
) -> reqwest::Response {
    let request = app.client.post(app.url(&format!("/oauth2/{endpoint}")));
    let id = client.id.to_string();
    let request = match &client.secret {
        Some(secret) => request
            .basic_auth(client.id, Some(secret))
            .form(&[("token", token)]),
        None => request.form(&[("token", token), ("client_id", &id)]),
    };
    request.send().await.expect("the endpoint answers")
}

async fn introspect(app: &TestApp, client: &Registered, token: &str) -> serde_json::Value {
    let resp = call(app, client, "introspect", token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("JSON")
}

#[tokio::test]
async fn a_third_party_access_token_opens_userinfo_only_a_first_party_one_the_api_too() {
    let app = spawn_app().await;
    let third = third_party(&app).await;
    let first = first_party(&app).await;

    let body = tokens_for(&app, &third, &PA_AGENT).await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 401);
    assert_eq!(userinfo_status(&app, access).await, 200);
    let header = rp::claims(&format!("x.{}", access.split('.').next().unwrap()));
    assert_eq!(header["typ"], "at+jwt", "RFC 9068: {header}");

    let body = tokens_for(&app, &first, &PA_AGENT).await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 200);
    assert_eq!(userinfo_status(&app, access).await, 200);

    // userinfo by POST, the token in the header or the body (oidcc-userinfo-post-*)
    let posted = app
        .client
        .post(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let in_body = app
        .client
        .post(app.url("/oauth2/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status(), 200);
    let info: serde_json::Value = in_body.json().await.unwrap();
    assert_eq!(info["sub"], PA_AGENT.id.to_string());

    // no token, or a made-up one: 401 with the bearer challenge
    let none = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().get("www-authenticate").is_some());
    assert_eq!(userinfo_status(&app, "made.up.token").await, 401);
}

#[tokio::test]
async fn introspection_describes_live_tokens_until_revoked_and_only_to_confidential_clients() {
    let app = spawn_app().await;
    let client = third_party(&app).await;
    let body = tokens_for(&app, &client, &PA_AGENT).await;
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();

    let live = introspect(&app, &client, access).await;
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(live["sub"], PA_AGENT.id.to_string(), "{live}");
    let live = introspect(&app, &client, refresh).await;
    assert_eq!(live["active"], true, "{live}");
    let unknown = introspect(&app, &client, "not-a-token").await;
    assert_eq!(unknown, serde_json::json!({"active": false}));

    let public = rp::register(
        &app,
        Spec {
            confidential: false,
            ..Spec::default()
        },
    )
    .await;
    let refused = call(&app, &public, "introspect", access).await;
    assert_eq!(
        steps::oauth_error(refused, 401).await,
        "invalid_client",
        "a public client may not introspect"
    );

    let revoked = call(&app, &client, "revoke", refresh).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(&app, &client, access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&app, &client, refresh).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(userinfo_status(&app, access).await, 401);
    let (status, refused) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");

    // revoking what is unknown or already revoked still answers 200 (RFC 7009 §2.2)
    assert_eq!(call(&app, &client, "revoke", refresh).await.status(), 200);
    assert_eq!(call(&app, &client, "revoke", "junk").await.status(), 200);
}

#[tokio::test]
async fn logout_with_an_id_token_hint_returns_to_the_client_and_ends_its_tokens() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let (body, mut browser) = tokens_and_browser(&app, &client, &PA_AGENT).await;
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let hint = body["id_token"].as_str().unwrap();

    // an unregistered post_logout_redirect_uri: a page, never a redirect, nothing ended
    let evil = logout_path(Some(hint), "https://evil.example/out");
    let page = browser.get(&evil).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
    assert_eq!(page.location, None);
    assert_eq!(userinfo_status(&app, access).await, 200);

    // the same hint from another browser (someone else's, or a stolen token): asked first,
    // nothing ended
    let page = Console::new(&app)
        .get(&logout_path(Some(hint), LOGOUT_TO))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("/oauth2/logout/confirm"));
    assert_eq!(userinfo_status(&app, access).await, 200, "nothing ended");

    let page = browser.get(&logout_path(Some(hint), LOGOUT_TO)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{page:?}");
    let location = page.location.clone().unwrap();
    assert!(location.starts_with(LOGOUT_TO), "{location}");
    assert_eq!(rp::params_of(&location)["state"], "x");

    assert_eq!(userinfo_status(&app, access).await, 401);
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 401);
    let (status, refused) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
}

#[tokio::test]
async fn logout_without_a_hint_asks_first_and_the_confirmation_signs_out() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(console.get("/console").await.status, StatusCode::OK);

    let path = format!(
        "/oauth2/logout?client_id={}&post_logout_redirect_uri={LOGOUT_TO}&state=x",
        client.id
    );
    let page = console.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(
        page.body.contains("/oauth2/logout/confirm"),
        "{}",
        page.body
    );
    assert_eq!(
        console.get("/console").await.status,
        StatusCode::OK,
        "not yet"
    );

    let page = console.get(&path).await;
    let field = |name| crate::helpers::console::hidden_field(&page.body, name).unwrap();
    let (redirect, state, client_id) = (field("redirect"), field("state"), field("client_id"));
    let done = console
        .post(
            "/oauth2/logout/confirm",
            &[
                ("redirect", &redirect),
                ("state", &state),
                ("client_id", &client_id),
            ],
        )
        .await;
    let location = done.location.clone().unwrap_or_else(|| panic!("{done:?}"));
    assert!(location.starts_with(LOGOUT_TO), "{location}");
    let after = console.get("/console").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out: {after:?}");

    // a forged confirmation (no CSRF token) signs no one out
    let mut other = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let forged = other
        .post_raw("/oauth2/logout/confirm", &[("state", "x")], &[])
        .await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER, "{forged:?}");
    assert_eq!(other.get("/console").await.status, StatusCode::OK);
}

fn logout_path(hint: Option<&str>, to: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(hint) = hint {
        query.append_pair("id_token_hint", hint);
    }
    query
        .append_pair("post_logout_redirect_uri", to)
        .append_pair("state", "x");
    format!("/oauth2/logout?{}", query.finish())
}
