//! `prompt`, `max_age`, `login_hint` and consent (OpenID Connect Core §3.1.2.1, §3.1.2.4): a
//! silent request is answered without a page or refused with the error that names the page
//! it would have needed; a fresh sign-in is asked for when the client wants one; a
//! third-party client's consent is asked once, remembered, and asked again on request.

use std::time::Duration;

use reqwest::StatusCode;

use super::{
    rp::{self, Registered},
    steps::{self, back_at_client, decide, first_party, sign_in_at, third_party},
};
use crate::helpers::{PA_AGENT, TestApp, console::Console, spawn_app};

fn issuer(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

/// The ID token of the code in `page` (a redirect to the client), exchanged with `verifier`.
async fn id_token_of(
    app: &TestApp,
    client: &Registered,
    page: &crate::helpers::console::Page,
    verifier: &str,
) -> serde_json::Value {
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    let (status, body) = rp::exchange(app, client, &location, verifier).await;
    assert_eq!(status, 200, "{body}");
    rp::claims(body["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn prompt_none_answers_without_a_page_or_names_the_page_it_needed() {
    let app = spawn_app().await;
    let first = first_party(&app).await;
    let third = third_party(&app).await;
    let (verifier, challenge) = rp::pkce();
    let none = [("prompt", "none")];

    // no session: login_required (oidcc-prompt-none-not-logged-in)
    let mut anonymous = Console::new(&app);
    let page = anonymous
        .get(&rp::authorize_path(first.id, &challenge, &none))
        .await;
    let params = back_at_client(&page);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], issuer(&app));

    // signed in, a third-party client never consented to: consent_required
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let page = console
        .get(&rp::authorize_path(third.id, &challenge, &none))
        .await;
    let params = back_at_client(&page);
    assert_eq!(params["error"], "consent_required");
    assert_eq!(params["state"], "st-123");

    // signed in, nothing to ask: a code at once (oidcc-prompt-none-logged-in)
    let page = console
        .get(&rp::authorize_path(first.id, &challenge, &none))
        .await;
    assert!(back_at_client(&page).contains_key("code"));
    let id = id_token_of(&app, &first, &page, &verifier).await;
    assert_eq!(id["sub"], PA_AGENT.id.to_string());
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_for_a_new_sign_in_and_the_id_token_says_when() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (verifier, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let before = id_token_of(&app, &client, &page, &verifier).await["auth_time"]
        .as_i64()
        .expect("auth_time");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    // a session of long enough ago is good for max_age=10000 (oidcc-max-age-10000)
    let (verifier, challenge) = rp::pkce();
    let long = [("max_age", "10000")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &long))
        .await;
    let id = id_token_of(&app, &client, &page, &verifier).await;
    assert_eq!(id["auth_time"].as_i64(), Some(before));

    // but not for max_age=1 (oidcc-max-age-1) nor prompt=login (oidcc-prompt-login)
    for asked in [("max_age", "1"), ("prompt", "login")] {
        let (verifier, challenge) = rp::pkce();
        let page = console
            .get(&rp::authorize_path(client.id, &challenge, &[asked]))
            .await;
        let location = page.location.clone().unwrap_or_default();
        assert!(
            location.starts_with("/console/sign-in?") && location.contains("again=1"),
            "{asked:?}: {location}"
        );
        let page = sign_in_at(&mut console, &location, &PA_AGENT).await;
        let id = id_token_of(&app, &client, &page, &verifier).await;
        let after = id["auth_time"].as_i64().expect("auth_time");
        assert!(after > before, "{asked:?}: {after} after {before}");
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }

    // prompt=none cannot ask: login_required
    let (_, challenge) = rp::pkce();
    let silent = [("max_age", "1"), ("prompt", "none")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &silent))
        .await;
    assert_eq!(back_at_client(&page)["error"], "login_required");
}

#[tokio::test]
async fn login_hint_fills_in_the_sign_in_page() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::new(&app);
    let (_, challenge) = rp::pkce();
    let hint = [("login_hint", PA_AGENT.email)];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &hint))
        .await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    let form = console.get(&location).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(&format!("value=\"{}\"", PA_AGENT.email)),
        "{}",
        form.body
    );
}

#[tokio::test]
async fn consent_is_asked_once_remembered_asked_again_on_request_and_may_be_denied() {
    let app = spawn_app().await;
    let client = third_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;

    // deny: access_denied, and nothing remembered
    let (_, challenge) = rp::pkce();
    let path = rp::authorize_path(client.id, &challenge, &[]);
    let page = console.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.shows("Test CRM"), "the consent page names the app");
    let denied = decide(&mut console, &page, "deny").await;
    let params = back_at_client(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], issuer(&app));

    // allow: a code, and the consent is remembered
    let (verifier, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let allowed = decide(&mut console, &page, "allow").await;
    assert!(back_at_client(&allowed).contains_key("code"));
    let id = id_token_of(&app, &client, &allowed, &verifier).await;
    assert_eq!(id["sub"], PA_AGENT.id.to_string());

    let (_, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    assert!(back_at_client(&page).contains_key("code"), "no page again");
    let silent = [("prompt", "none")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &silent))
        .await;
    assert!(
        back_at_client(&page).contains_key("code"),
        "prompt=none too"
    );

    // prompt=consent asks although remembered
    let asked = [("prompt", "consent")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &asked))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let again = decide(&mut console, &page, "allow").await;
    assert!(back_at_client(&again).contains_key("code"));

    // more scopes than consented to: asked again
    let path = rp::authorize_path(client.id, &challenge, &[("scope", "openid phone")]);
    let page = console.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("/oauth2/authorize/consent"));
}

#[tokio::test]
async fn signing_in_during_the_request_leads_to_consent_then_back_to_the_client() {
    let app = spawn_app().await;
    let client = third_party(&app).await;
    let mut console = Console::new(&app);
    let (verifier, challenge) = rp::pkce();
    let path = rp::authorize_path(client.id, &challenge, &[]);
    let page = steps::sign_in_during(&mut console, &path, &PA_AGENT).await;
    let allowed = decide(&mut console, &page, "allow").await;
    let id = id_token_of(&app, &client, &allowed, &verifier).await;
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["sub"], PA_AGENT.id.to_string());
}
