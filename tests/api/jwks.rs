//! The JWKS publishes every key that signs a live token, each in its own JWK shape: a relying
//! party verifies an ID token with nothing but the published keys.

use dealergate::testing::IdAlg;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::Jwk};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, start_with};

async fn jwks_of(app: &TestApp) -> Vec<Value> {
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    jwks["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_jwks_publishes_the_id_token_keys_beside_the_access_tokens_key() {
    let app = spawn_app().await;
    let keys = jwks_of(&app).await;
    let shapes: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k["kty"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("OKP", "EdDSA"),
            ("EC", "ES256"),
            ("OKP", "EdDSA"),
            ("RSA", "RS256")
        ],
        "the access tokens' key, then the ID tokens' keys"
    );
    assert_ne!(
        keys[0]["kid"], keys[2]["kid"],
        "EdDSA ID tokens have a key of their own"
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("p").is_none())
    );

    let claims =
        json!({"iss": "dealergate", "aud": "a client", "sub": "a person", "exp": 4102444800_i64});
    for alg in [IdAlg::ES256, IdAlg::RS256, IdAlg::EdDSA] {
        let token = app.state.oidc.keys.sign(alg, "JWT", &claims).unwrap();
        let header = decode_header(&token).unwrap();
        let published = keys
            .iter()
            .find(|k| k["kid"].as_str() == header.kid.as_deref())
            .unwrap_or_else(|| panic!("{alg:?}: its kid is in the JWKS"));
        let jwk: Jwk = serde_json::from_value(published.clone()).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&["a client"]);
        let verified = decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation);
        assert_eq!(verified.unwrap().claims, claims, "{alg:?}");
    }

    // a replica started from the same settings signs with the same configured keys
    let replica = start_with(app.db.clone(), app.state.settings.clone()).await;
    let replicated = jwks_of(&replica).await;
    assert_eq!(replicated[..3], keys[..3]);
}
