//! Authorization requests refused (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6): until the
//! client and its redirect URI are known good the refusal is a page and never a redirect (no
//! open redirector); after, it goes back to the client with the error the specs name, `state`
//! and `iss` (RFC 9207).

use reqwest::StatusCode;
use uuid::Uuid;

use super::rp::{self, REDIRECT, Spec};
use crate::helpers::{TestApp, console::Console, spawn_app};

/// Parameters changed in a good request (`None` drops one).
type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

/// `/oauth2/authorize?…` for `client`: a good request with `changes` (a `None` value drops
/// the parameter).
fn request(client: &str, changes: &[(&str, Option<&str>)]) -> String {
    let (_, challenge) = rp::pkce();
    let mut pairs: Vec<(&str, Option<String>)> = vec![
        ("client_id", Some(client.to_owned())),
        ("redirect_uri", Some(REDIRECT.to_owned())),
        ("response_type", Some("code".into())),
        ("scope", Some("openid profile".into())),
        ("state", Some("st-9".into())),
        ("code_challenge", Some(challenge)),
        ("code_challenge_method", Some("S256".into())),
    ];
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        pairs.push((name, value.map(str::to_owned)));
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &pairs {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    format!("/oauth2/authorize?{}", query.finish())
}

fn issuer(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

/// The request is answered with the refusal page: 400 HTML, no `Location`.
async fn assert_page(console: &mut Console, path: &str) {
    let page = console.get(path).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}: {page:?}");
    assert_eq!(page.location, None, "{path}: never a redirect");
    let kind = page.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(kind.starts_with("text/html"), "{path}: {kind}");
}

/// The request goes back to the client with `error`, `state` and `iss`.
async fn assert_back(app: &TestApp, console: &mut Console, path: &str, error: &str) {
    let page = console.get(path).await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    assert!(location.starts_with(REDIRECT), "{path}: {location}");
    let params = rp::params_of(&location);
    assert_eq!(params["error"], error, "{path}: {location}");
    assert!(params.contains_key("error_description"), "{location}");
    assert_eq!(params["state"], "st-9", "{location}");
    assert_eq!(params["iss"], issuer(app), "{location}");
    assert!(!params.contains_key("code"), "{location}");
}

#[tokio::test]
async fn an_unregistered_or_altered_redirect_uri_or_an_unknown_client_is_a_page_never_a_redirect() {
    let app = spawn_app().await;
    let client = rp::register(&app, Spec::default()).await;
    let id = client.id.to_string();
    let mut console = Console::new(&app);
    for uri in [
        "https://evil.example/callback",
        "https://crm.example.test/callback/",
        "https://crm.example.test/callback?next=https://evil.example",
        "https://crm.example.test/callback#x",
        "http://crm.example.test/callback",
        "https://crm.example.test.evil.example/callback",
        "https://CRM.example.test/Callback",
    ] {
        assert_page(&mut console, &request(&id, &[("redirect_uri", Some(uri))])).await;
    }
    assert_page(&mut console, &request(&id, &[("redirect_uri", None)])).await;
    // even with the other parameters wrong too: the redirect URI is checked first
    let both = [
        ("redirect_uri", Some("https://evil.example/cb")),
        ("response_type", Some("token")),
    ];
    assert_page(&mut console, &request(&id, &both)).await;

    let unknown = Uuid::now_v7().to_string();
    assert_page(&mut console, &request(&unknown, &[])).await;
    assert_page(&mut console, &request("not-a-uuid", &[])).await;
    assert_page(&mut console, &request(&id, &[("client_id", None)])).await;

    // a client switched off is unknown too
    let owner = app.db.owner().await;
    crate::helpers::exec(
        &owner,
        &format!("UPDATE oauth_clients SET is_active = false WHERE id = '{id}'"),
    )
    .await;
    assert_page(&mut console, &request(&id, &[])).await;
}

#[tokio::test]
async fn a_bad_request_from_a_known_client_goes_back_with_the_error_state_and_iss() {
    let app = spawn_app().await;
    let confidential = rp::register(&app, Spec::default()).await;
    let public = rp::register(
        &app,
        Spec {
            confidential: false,
            scopes: "openid profile",
            ..Spec::default()
        },
    )
    .await;
    let id = confidential.id.to_string();
    let mut console = Console::new(&app);
    let cases: &[(Changes, &str)] = &[
        (
            &[("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            &[("response_type", Some("id_token"))],
            "unsupported_response_type",
        ),
        (
            &[("response_type", Some("code id_token"))],
            "unsupported_response_type",
        ),
        (&[("response_type", None)], "unsupported_response_type"),
        (
            &[("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (&[("code_challenge_method", None)], "invalid_request"),
        (&[("code_challenge", Some("short"))], "invalid_request"),
        (&[("scope", Some("profile email"))], "invalid_scope"),
        (&[("scope", None)], "invalid_scope"),
        (&[("scope", Some("openid admin"))], "invalid_scope"),
        (&[("prompt", Some("none login"))], "invalid_request"),
        (&[("prompt", Some("sometimes"))], "invalid_request"),
        (&[("max_age", Some("-1"))], "invalid_request"),
        (&[("response_mode", Some("fragment"))], "invalid_request"),
        (&[("request", Some("e30.e30."))], "request_not_supported"),
        (
            &[("request_uri", Some("https://crm.example.test/r"))],
            "request_uri_not_supported",
        ),
    ];
    for (changes, error) in cases {
        assert_back(&app, &mut console, &request(&id, changes), error).await;
    }

    // a public client must use PKCE; a scope it was not registered for is refused
    let public_id = public.id.to_string();
    let no_pkce = [("code_challenge", None), ("code_challenge_method", None)];
    assert_back(
        &app,
        &mut console,
        &request(&public_id, &no_pkce),
        "invalid_request",
    )
    .await;
    let offline = [("scope", Some("openid offline_access"))];
    assert_back(
        &app,
        &mut console,
        &request(&public_id, &offline),
        "invalid_scope",
    )
    .await;
    let plain = [("code_challenge_method", Some("plain"))];
    assert_back(
        &app,
        &mut console,
        &request(&public_id, &plain),
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_known_client_may_leave_out_pkce_and_nonce_and_add_unknown_parameters() {
    let app = spawn_app().await;
    let client = super::steps::first_party(&app).await;
    let id = client.id.to_string();
    let mut console = Console::signed_in(
        &app,
        crate::helpers::PA_AGENT.email,
        crate::helpers::PA_AGENT.password,
    )
    .await;
    // a confidential client without PKCE and without a nonce (OpenID Connect Core §3.1.2.1)
    let path = request(
        &id,
        &[
            ("code_challenge", None),
            ("code_challenge_method", None),
            ("unknown_parameter", Some("ignored")),
            ("display", Some("popup")),
            ("ui_locales", Some("fr-CA en")),
            ("claims_locales", Some("fr")),
            ("acr_values", Some("urn:dealergate:acr:pwd")),
            ("scope", Some("profile openid")),
        ],
    );
    let page = console.get(&path).await;
    let params = super::steps::back_at_client(&page);
    assert_eq!(params["state"], "st-9");
    let code = params["code"].clone();
    let (status, body) = rp::token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id_token = rp::claims(body["id_token"].as_str().unwrap());
    assert!(id_token.get("nonce").is_none(), "{id_token}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access: {body}"
    );
}
