//! A relying party for the tests: clients registered straight in the registry (as an admin
//! would through the API), PKCE pairs, and the code flow driven through the console's pages
//! with the test's own cookie jar (`helpers::console::Console`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::{TestApp, exec};

pub const REDIRECT: &str = "https://crm.example.test/callback";
pub const LOGOUT_TO: &str = "https://crm.example.test/signed-out";

/// What a test registers.
pub struct Spec {
    pub confidential: bool,
    pub first_party: bool,
    pub scopes: &'static str,
    pub alg: &'static str,
    /// `dealership_ids` (SQL array literal) or `NULL`.
    pub dealerships: &'static str,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            confidential: true,
            first_party: false,
            scopes: "openid profile email phone offline_access dealership",
            alg: "ES256",
            dealerships: "NULL",
        }
    }
}

pub struct Registered {
    pub id: Uuid,
    pub secret: Option<String>,
}

/// Registers a client as the database owner (the registry API has its own tests).
pub async fn register(app: &TestApp, spec: Spec) -> Registered {
    let id = Uuid::now_v7();
    let owner = app.db.owner().await;
    let scopes: Vec<String> = spec.scopes.split(' ').map(|s| format!("\"{s}\"")).collect();
    exec(
        &owner,
        &format!(
            "INSERT INTO oauth_clients (id, name, confidential, first_party, redirect_uris, \
             post_logout_redirect_uris, scopes, id_token_alg, dealership_ids) VALUES \
             ('{id}', 'Test CRM', {}, {}, ARRAY['{REDIRECT}', 'http://127.0.0.1/cb'], \
              ARRAY['{LOGOUT_TO}'], '{{{}}}', '{}', {})",
            spec.confidential,
            spec.first_party,
            scopes.join(","),
            spec.alg,
            spec.dealerships,
        ),
    )
    .await;
    let secret = if spec.confidential {
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let hash = hex(&Sha256::digest(secret.as_bytes()));
        exec(
            &owner,
            &format!(
                "INSERT INTO oauth_client_secrets (client_id, secret_hash) VALUES \
                 ('{id}', '\\x{hash}')"
            ),
        )
        .await;
        Some(secret)
    } else {
        None
    };
    Registered { id, secret }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `/oauth2/authorize?…` for `client`, with `extra` parameters (one named like a default
/// replaces it: a repeated parameter is an invalid request).
pub fn authorize_path(client: Uuid, challenge: &str, extra: &[(&str, &str)]) -> String {
    let client = client.to_string();
    let defaults = [
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email offline_access dealership"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in defaults {
        if !extra.iter().any(|(n, _)| *n == name) {
            query.append_pair(name, value);
        }
    }
    for (name, value) in extra {
        query.append_pair(name, value);
    }
    format!("/oauth2/authorize?{}", query.finish())
}

/// The query parameters of a redirect to the client.
pub fn params_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .expect("an absolute redirect")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The token endpoint with `form`, authenticated with `client_secret_basic` when a secret is
/// given.
pub async fn token(
    app: &TestApp,
    client: &Registered,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut request = app.client.post(app.url("/oauth2/token")).form(form);
    match &client.secret {
        Some(secret) => request = request.basic_auth(client.id, Some(secret)),
        None => {
            let mut with_id = form.to_vec();
            let id = client.id.to_string();
            with_id.push(("client_id", &id));
            request = app.client.post(app.url("/oauth2/token")).form(&with_id);
        }
    }
    let resp = request.send().await.expect("the token endpoint answers");
    let status = resp.status();
    (status, resp.json().await.unwrap_or_default())
}

/// Exchanges the code of `location` (a redirect to the client).
pub async fn exchange(
    app: &TestApp,
    client: &Registered,
    location: &str,
    verifier: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let code = params_of(location).remove("code").expect("a code");
    token(
        app,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// The claims of a JWT (its signature is checked by the RP-library tests).
pub fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}
