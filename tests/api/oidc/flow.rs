//! The code flow end to end through the console's pages, and what the tokens say.

use super::rp::{self, REDIRECT, Spec};
use crate::helpers::{PA_AGENT, PREMIUM_AUTO, console::Console, spawn_app};

#[tokio::test]
async fn a_signed_in_person_gets_a_code_and_tokens_naming_their_dealership() {
    let app = spawn_app().await;
    let client = rp::register(
        &app,
        Spec {
            first_party: true,
            ..Spec::default()
        },
    )
    .await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (verifier, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    assert!(location.starts_with(REDIRECT), "{location}");
    let params = rp::params_of(&location);
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], app.address.replace("127.0.0.1", "localhost"));

    let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = rp::claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["aud"], client.id.to_string());
    assert_eq!(id["dealership_id"], PREMIUM_AUTO.to_string());
    assert_eq!(id["role"], "agent");
    assert!(body["refresh_token"].is_string());

    // a first-party client's access token is the API's own
    let me = app
        .get_as("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    let info = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let info: serde_json::Value = info.json().await.unwrap();
    assert_eq!(info["email"], PA_AGENT.email);

    let (status, again) = rp::token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{again}");
}
