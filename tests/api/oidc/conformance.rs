//! What the OpenID Foundation's Basic and Config OP test modules check that no other test here
//! does (docs/oidc-conformance.md maps each module to its test): the discovery document and
//! its keys, the claims each scope releases, a POSTed authorization request, `id_token_hint`.

use super::{
    rp::{self, REDIRECT},
    steps::{back_at_client, first_party},
};
use crate::helpers::{PA_AGENT, TestApp, console::Console, spawn_app};

fn issuer(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

async fn json_of(app: &TestApp, path: &str) -> serde_json::Value {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.expect("JSON")
}

/// oidcc-discovery-endpoint-verification.
#[tokio::test]
async fn discovery_names_this_issuer_its_endpoints_and_its_keys() {
    let app = spawn_app().await;
    let config = json_of(&app, "/.well-known/openid-configuration").await;
    let issuer = issuer(&app);
    assert_eq!(config["issuer"], issuer);
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let url = config[endpoint].as_str().expect(endpoint);
        assert!(url.starts_with(&issuer), "{endpoint}: {url}");
    }
    let scopes = config["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|s| s == "openid"));
    assert_eq!(
        config["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert!(
        config["subject_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "public")
    );
    let algs = config["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(
        !algs.is_empty() && !algs.iter().any(|a| a == "none"),
        "{algs:?}"
    );

    let jwks_path = config["jwks_uri"].as_str().unwrap().replace(&issuer, "");
    let jwks = json_of(&app, &jwks_path).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key["kid"].is_string(), "{key}");
        assert!(key.get("d").is_none(), "no private part: {key}");
    }
}

/// oidcc-idtoken-signature, oidcc-idtoken-rs256 (Config OP), oidcc-idtoken-unsigned: an ID
/// token is signed with the algorithm its client registered, by a key of the JWKS.
#[tokio::test]
async fn id_tokens_are_signed_with_the_clients_algorithm_by_a_key_of_the_jwks() {
    let app = spawn_app().await;
    let jwks = json_of(&app, "/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().expect("keys").clone();
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    for alg in ["ES256", "RS256"] {
        let spec = rp::Spec {
            first_party: true,
            alg,
            ..rp::Spec::default()
        };
        let client = rp::register(&app, spec).await;
        let (verifier, challenge) = rp::pkce();
        let page = console
            .get(&rp::authorize_path(client.id, &challenge, &[]))
            .await;
        let location = page.location.clone().unwrap();
        let (_, body) = rp::exchange(&app, &client, &location, &verifier).await;
        let id_token = body["id_token"].as_str().unwrap();
        let header = rp::claims(&format!("x.{}", id_token.split('.').next().unwrap()));
        assert_eq!(header["alg"], alg, "{header}");
        assert!(keys.iter().any(|k| k["kid"] == header["kid"]), "{header}");
        assert!(!id_token.ends_with('.'), "signed");
    }
}

/// oidcc-scope-profile, -email, -phone, -all, -address, oidcc-ensure-other-scope-order-succeeds.
#[tokio::test]
async fn each_scope_releases_its_own_claims_at_userinfo() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "openid profile",
            &["given_name", "family_name"],
            &["email", "phone_number"],
        ),
        (
            "email openid",
            &["email", "email_verified"],
            &["given_name", "phone_number"],
        ),
        ("openid phone", &["phone_number"], &["email", "given_name"]),
        (
            "phone email openid profile",
            &["email", "given_name", "phone_number"],
            &[],
        ),
    ];
    for (scope, present, absent) in cases {
        let (verifier, challenge) = rp::pkce();
        let page = console
            .get(&rp::authorize_path(
                client.id,
                &challenge,
                &[("scope", scope)],
            ))
            .await;
        let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
        let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
        assert_eq!(status, 200, "{scope}: {body}");
        let info: serde_json::Value = app
            .client
            .get(app.url("/oauth2/userinfo"))
            .bearer_auth(body["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], PA_AGENT.id.to_string(), "{scope}");
        for claim in *present {
            assert!(info.get(claim).is_some(), "{scope}: {claim} in {info}");
        }
        for claim in *absent {
            assert!(info.get(claim).is_none(), "{scope}: no {claim} in {info}");
        }
    }
    // address is not a supported scope: refused, not silently dropped
    let (_, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(
            client.id,
            &challenge,
            &[("scope", "openid address")],
        ))
        .await;
    assert_eq!(back_at_client(&page)["error"], "invalid_scope");
}

/// oidcc-ensure-post-request-succeeds, oidcc-id-token-hint.
#[tokio::test]
async fn a_posted_request_and_an_id_token_hint_with_prompt_none_get_a_code() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (verifier, challenge) = rp::pkce();
    let path = rp::authorize_path(client.id, &challenge, &[]);
    let query = path.split_once('?').unwrap().1.to_owned();
    let posted = console
        .post_raw(
            "/oauth2/authorize",
            &url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            &[],
        )
        .await;
    assert_eq!(posted.status, 303, "{posted:?}");
    let page = console.follow(&posted).await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    assert!(location.starts_with(REDIRECT));
    let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");

    let hint = body["id_token"].as_str().unwrap();
    let (_, challenge) = rp::pkce();
    let silent = [("prompt", "none"), ("id_token_hint", hint)];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &silent))
        .await;
    assert!(back_at_client(&page).contains_key("code"), "{page:?}");
}
