//! The steps the refusal, prompt and session tests share: signing in while a request waits,
//! answering the picker and the consent page, a whole code flow to tokens, and reading an
//! OAuth error answer.

use reqwest::StatusCode;

use super::rp::{self, Registered, Spec};
use crate::helpers::{
    DemoUser, TestApp,
    console::{Console, Page, hidden_field},
};

/// A confidential first-party client (no consent page).
pub async fn first_party(app: &TestApp) -> Registered {
    let spec = Spec {
        first_party: true,
        ..Spec::default()
    };
    rp::register(app, spec).await
}

/// A confidential third-party client (consent asked, remembered).
pub async fn third_party(app: &TestApp) -> Registered {
    rp::register(app, Spec::default()).await
}

/// `path` (an authorization request) from a browser without a session: the sign-in page, the
/// password, and back to the waiting request; the page (or redirect) it ends on.
pub async fn sign_in_during(console: &mut Console, path: &str, who: &DemoUser) -> Page {
    let to_sign_in = console.get(path).await;
    let location = to_sign_in.location.clone().unwrap_or_default();
    assert!(
        location.starts_with("/console/sign-in"),
        "{location}: {to_sign_in:?}"
    );
    sign_in_at(console, &location, who).await
}

/// Signs in on the sign-in page at `location` (where a waiting request sent the browser) and
/// follows the redirect back to the request.
pub async fn sign_in_at(console: &mut Console, location: &str, who: &DemoUser) -> Page {
    let form = console.get(location).await;
    assert_eq!(form.status, StatusCode::OK, "{form:?}");
    let signed = console
        .post(
            "/console/sign-in",
            &[("login", who.email), ("password", who.password)],
        )
        .await;
    assert_eq!(
        signed.location.as_deref(),
        Some("/oauth2/authorize/resume"),
        "{signed:?}"
    );
    console.follow(&signed).await
}

/// Answers the consent page `page` with `decision` (`allow` or `deny`).
pub async fn decide(console: &mut Console, page: &Page, decision: &str) -> Page {
    assert!(page.body.contains("/oauth2/authorize/consent"), "{page:?}");
    let sealed = hidden_field(&page.body, "request").expect("the sealed request");
    console
        .post(
            "/oauth2/authorize/consent",
            &[("request", &sealed), ("decision", decision)],
        )
        .await
}

/// Chooses `membership` on the picker `page`.
pub async fn choose(console: &mut Console, page: &Page, membership: uuid::Uuid) -> Page {
    assert!(page.body.contains("/oauth2/authorize/choose"), "{page:?}");
    let sealed = hidden_field(&page.body, "request").expect("the sealed request");
    console
        .post(
            "/oauth2/authorize/choose",
            &[
                ("request", &sealed),
                ("membership", &membership.to_string()),
            ],
        )
        .await
}

/// The redirect to the client that `page` is (asserted), as its query parameters.
pub fn back_at_client(page: &Page) -> std::collections::HashMap<String, String> {
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    assert!(location.starts_with(rp::REDIRECT), "{location}");
    rp::params_of(&location)
}

/// A signed-in person's whole code flow for `client` (consent allowed when asked); the token
/// answer.
pub async fn tokens_for(app: &TestApp, client: &Registered, who: &DemoUser) -> serde_json::Value {
    tokens_and_browser(app, client, who).await.0
}

/// [`tokens_for`], and the browser that signed in (its console session is the sign-in the
/// tokens belong to).
pub async fn tokens_and_browser(
    app: &TestApp,
    client: &Registered,
    who: &DemoUser,
) -> (serde_json::Value, Console) {
    let mut console = Console::signed_in(app, who.email, who.password).await;
    let (verifier, challenge) = rp::pkce();
    let mut page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    if page.location.is_none() {
        page = decide(&mut console, &page, "allow").await;
    }
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    let (status, body) = rp::exchange(app, client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");
    (body, console)
}

/// An OAuth error answer (RFC 6749 §5.2): `status`, JSON `{error, error_description}`, not
/// cached; its `error`.
pub async fn oauth_error(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status(), status);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: serde_json::Value = resp.json().await.expect("a JSON error");
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().expect("error").to_owned()
}

/// `GET /oauth2/userinfo` with `token`: its status.
pub async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    let resp = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo answers");
    resp.status().as_u16()
}

/// The refresh grant for `client` with `refresh`: status and body.
pub async fn refresh(
    app: &TestApp,
    client: &Registered,
    refresh: &str,
) -> (StatusCode, serde_json::Value) {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    rp::token(app, client, &form).await
}
