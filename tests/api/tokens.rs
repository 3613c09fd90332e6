//! The access-token verifier pins its algorithm and trusts nothing it did not sign.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use dealergate::testing::AccessClaims;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use crate::helpers::{ADMIN, PA_AGENT, TestApp, error_of, spawn_app};

fn claims_of(token: &str) -> AccessClaims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Signs `claims` with the server's own key and `kid`, as only the server could.
fn sign_as_server(app: &TestApp, claims: &AccessClaims, kid: &str) -> String {
    let pem = app
        .state
        .settings
        .auth
        .signing_key
        .as_ref()
        .unwrap()
        .expose();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn unsigned(header: serde_json::Value, claims: &AccessClaims) -> String {
    let part = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.",
        part(header.to_string().as_bytes()),
        part(serde_json::to_vec(claims).unwrap().as_slice())
    )
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.get_as("/api/v1/auth/me", token).await.status().as_u16()
}

#[tokio::test]
async fn a_token_resigned_by_the_server_key_with_the_same_claims_is_accepted() {
    // the control for every attack below: the forging itself is sound
    let app = spawn_app().await;
    let real = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    let forged = sign_as_server(&app, &claims_of(&real), &kid_of(&real));
    assert_eq!(status_of(&app, &forged).await, 200);
}

#[tokio::test]
async fn every_kind_of_forged_or_stale_token_is_refused_with_401() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let real = tokens.access.clone();
    let claims = claims_of(&real);
    let kid = kid_of(&real);
    let now = chrono::Utc::now().timestamp();
    let with = |change: &dyn Fn(&mut AccessClaims)| {
        let mut c = claims.clone();
        change(&mut c);
        c
    };

    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let public_raw = URL_SAFE_NO_PAD.decode(&public_x).unwrap();
    let hs256 = |secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let (other_pem, _) = dealergate::testing::generate_pem().unwrap();
    let other_key = {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        encode(
            &header,
            &claims,
            &EncodingKey::from_ed_pem(other_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
        let promoted = with(&|c| c.role = dealergate::domain::Role::Admin);
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&promoted).unwrap());
        parts.join(".")
    };

    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(
                serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid}),
                &claims,
            ),
        ),
        (
            "alg none without kid",
            unsigned(serde_json::json!({"alg": "none"}), &claims),
        ),
        (
            "HS256 keyed with the public key (x)",
            hs256(public_x.as_bytes()),
        ),
        ("HS256 keyed with the raw public key", hs256(&public_raw)),
        ("signed by another key", other_key),
        (
            "unknown kid",
            sign_as_server(&app, &claims, "not-a-known-kid"),
        ),
        (
            "wrong issuer",
            sign_as_server(&app, &with(&|c| c.iss = "someone-else".into()), &kid),
        ),
        (
            "wrong audience",
            sign_as_server(&app, &with(&|c| c.aud = "another-api".into()), &kid),
        ),
        (
            "expired",
            sign_as_server(&app, &with(&|c| c.exp = now - 60), &kid),
        ),
        (
            "not yet valid",
            sign_as_server(&app, &with(&|c| c.nbf = now + 300), &kid),
        ),
        (
            "refresh type",
            sign_as_server(&app, &with(&|c| c.typ = "refresh".into()), &kid),
        ),
        (
            "stale token version",
            sign_as_server(&app, &with(&|c| c.ver += 1), &kid),
        ),
        (
            "another user's session",
            sign_as_server(&app, &with(&|c| c.sub = uuid::Uuid::now_v7()), &kid),
        ),
        ("tampered payload", tampered),
        ("the refresh token as bearer", tokens.refresh.clone()),
        ("garbage", "not.a.jwt".into()),
        ("empty", String::new()),
    ];
    for (attack, token) in attacks {
        let resp = app.get_as("/api/v1/auth/me", &token).await;
        assert_eq!(resp.status(), 401, "{attack}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{attack}");
        error_of(resp, 401).await;
    }
    let missing = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    error_of(missing, 401).await;
    assert_eq!(
        status_of(&app, &real).await,
        200,
        "the real token still works"
    );
}

#[tokio::test]
async fn the_jwks_publishes_the_signing_key_and_tokens_name_it() {
    let app = spawn_app().await;
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(key.get("d").is_none(), "no private part");
    let token = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    assert_eq!(kid_of(&token), key["kid"].as_str().unwrap());
    let claims = claims_of(&token);
    assert_eq!(
        (
            claims.iss.as_str(),
            claims.aud.as_str(),
            claims.typ.as_str()
        ),
        ("dealergate", "dealergate", "access")
    );
    assert_eq!(claims.dealership_id, None, "admins are platform users");
    assert_eq!(claims.exp - claims.iat, 900);
}

#[tokio::test]
async fn a_retired_key_still_verifies_after_rotation() {
    let old = spawn_app().await;
    let token = old.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    // the operator rotates: a new signing key, the old public key kept for verification
    let dir = std::env::temp_dir().join(format!("dg-rotation-{}", uuid::Uuid::new_v4()));
    let old_pem = old
        .state
        .settings
        .auth
        .signing_key
        .as_ref()
        .unwrap()
        .expose()
        .clone();
    let old_key =
        <ed25519_dalek::SigningKey as ed25519_dalek::pkcs8::DecodePrivateKey>::from_pkcs8_pem(
            &old_pem,
        )
        .unwrap();
    let old_public = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
        &old_key.verifying_key(),
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
    )
    .unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let old_public_path = dir.join("old.pub.pem");
    std::fs::write(&old_public_path, old_public).unwrap();
    let mut settings = old.state.settings.clone();
    settings.auth.signing_key = Some(dealergate::config::Secret::new(
        dealergate::testing::generate_pem().unwrap().0,
    ));
    settings.auth.verification_key_files = vec![old_public_path];
    let rotated = crate::helpers::start_with(old.db.clone(), settings).await;
    assert_eq!(
        status_of(&rotated, &token).await,
        200,
        "issued before the rotation"
    );
    let fresh = rotated
        .login_ok(PA_AGENT.email, PA_AGENT.password)
        .await
        .access;
    assert_ne!(kid_of(&fresh), kid_of(&token));
    let jwks: serde_json::Value = rotated
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids[..2],
        [kid_of(&fresh).as_str(), kid_of(&token).as_str()],
        "the access tokens' keys come first: the current one, then the retired one"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
