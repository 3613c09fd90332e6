//! A relying party built on a real OpenID Connect library (the `openidconnect` crate), not on
//! the test's own requests: it configures itself by discovery at the issuer alone, sends a
//! person through the code flow with PKCE in headless Chromium (the console's sign-in form,
//! the dealership picker, the consent page), receives the code at a loopback redirect URI on a
//! port of its own (RFC 8252), and then checks what a standard client checks — the ID token's
//! signature against the JWKS, its issuer, audience, nonce and `at_hash` — before userinfo, a
//! refresh, revocation and RP-initiated logout.

use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthenticationFlow,
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdToken, IssuerUrl, LogoutProviderMetadata, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, ProviderMetadata, RedirectUrl, RefreshToken, Scope,
    TokenResponse, UserInfoClaims,
    core::{
        CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
        CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
        CoreSubjectIdentifierType,
    },
};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::oneshot,
};

use super::rp::{self, Spec};
use crate::{
    console_browser::Browser,
    helpers::{PA_MANAGER, PREMIUM_AUTO_NORTH, TestApp, spawn_app},
};

/// What discovery says beyond the core metadata: the end-session endpoint (RP-Initiated
/// Logout) and the RFC 7009 revocation endpoint.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct Revocation {
    revocation_endpoint: String,
}
impl AdditionalProviderMetadata for Revocation {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<Revocation>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// dealergate's own claims in ID tokens and userinfo (scope `dealership`).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct Dealership {
    dealership_id: Option<String>,
    dealership_name: Option<String>,
    role: Option<String>,
}
impl AdditionalClaims for Dealership {}

type DealerIdToken = IdToken<
    Dealership,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The relying party's HTTP client: the library follows no redirect itself.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The issuer of `app` (dev: `http://localhost:<port>`).
fn issuer(app: &TestApp) -> String {
    app.address.replace("127.0.0.1", "localhost")
}

/// A loopback redirect URI on a port of its own, and the query of the one request it gets (the
/// browser arriving with the code); the browser is shown a short page.
async fn loopback() -> (String, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("the browser arrives");
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.expect("its request");
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        let target = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let body = "<!doctype html><title>Signed in</title><h1>Back at the app</h1>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = tx.send(target);
    });
    (format!("http://127.0.0.1:{port}/cb"), rx)
}

/// The code and state of the loopback request `target` (`/cb?code=…&state=…&iss=…`).
fn code_of(target: &str, issuer: &str) -> (AuthorizationCode, String) {
    let params = rp::params_of(&format!("http://127.0.0.1{target}"));
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(issuer),
        "{target}"
    );
    let code = params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {target}"));
    (
        AuthorizationCode::new(code.clone()),
        params["state"].clone(),
    )
}

#[tokio::test]
async fn the_openidconnect_crate_signs_a_person_in_through_chromium_and_checks_every_token() {
    let app = spawn_app().await;
    let registered = rp::register(&app, Spec::default()).await;
    let issuer = issuer(&app);
    let http = http();

    let metadata = Metadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
        .await
        .unwrap_or_else(|e| panic!("discovery at {issuer}: {e:?}"));
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("an end_session_endpoint");
    let revocation = metadata
        .additional_metadata()
        .additional_metadata
        .revocation_endpoint
        .clone();
    let (redirect, arrived) = loopback().await;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.to_string()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.clone()).unwrap());

    // the authorization request, as the library builds it
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(Scope::new("dealership".into()))
        .set_pkce_challenge(challenge)
        .url();

    // a person in a browser: signs in, picks a dealership, allows the app
    let mut browser = Browser::open(&app).await;
    browser.base = issuer.clone();
    let path = &authorize_url.as_str()[issuer.len()..];
    browser.open_page(path, "Sign in").await;
    browser.fill("Email or phone", PA_MANAGER.email).await;
    browser.fill("Password", PA_MANAGER.password).await;
    browser.press("Sign in").await;
    browser.expect_text("Test CRM").await;
    browser.press("Premium Auto North").await;
    browser.expect_text("is asking to").await;
    browser.press("Allow").await;
    browser.expect_page("Back at the app").await;
    let target = arrived.await.expect("the loopback request");
    let (code, returned_state) = code_of(&target, &issuer);
    assert_eq!(&returned_state, state.secret());

    // the code for tokens (client_secret_basic, the PKCE verifier)
    let tokens = client
        .exchange_code(code)
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the code exchange: {e:?}"));

    // the ID token: signature (JWKS), issuer, audience, expiry, nonce, at_hash
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256])
        .set_other_audience_verifier_fn(|_| false);
    let raw = tokens.id_token().expect("an ID token").to_string();
    let id_token: DealerIdToken = raw.parse().expect("an ID token");
    let claims = id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e:?}"));
    assert_eq!(claims.subject().as_str(), PA_MANAGER.id.to_string());
    assert_eq!(claims.issuer().as_str(), issuer);
    let dealership = claims.additional_claims();
    assert_eq!(
        dealership.dealership_id.as_deref(),
        Some(PREMIUM_AUTO_NORTH.to_string().as_str()),
        "the picked dealership"
    );
    assert_eq!(dealership.role.as_deref(), Some("manager"));
    // the same checks refuse another nonce, and a token whose claims were changed
    assert!(id_token.claims(&verifier, &Nonce::new("n".into())).is_err());
    let forged: DealerIdToken = with_subject(&raw, "someone-else").parse().unwrap();
    assert!(
        forged.claims(&verifier, &nonce).is_err(),
        "a changed ID token verifies"
    );
    let at_hash = claims.access_token_hash().expect("an at_hash");
    let alg = id_token.signing_alg().expect("a signed token");
    let key = id_token
        .signing_key(&verifier)
        .expect("its key in the JWKS");
    let expected = AccessTokenHash::from_token(tokens.access_token(), alg, key).unwrap();
    assert_eq!(at_hash, &expected, "at_hash is the access token's");

    // userinfo, checked against the ID token's subject
    let info: UserInfoClaims<Dealership, CoreGenderClaim> = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("a userinfo endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.email().map(|e| e.as_str()), Some(PA_MANAGER.email));

    // a refresh (offline_access): new tokens, the ID token still about the same person
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .expect("a token endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the refresh: {e:?}"));
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    if let Some(again) = refreshed.id_token() {
        let again: DealerIdToken = again.to_string().parse().unwrap();
        let again = again
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .expect("the refreshed ID token verifies");
        assert_eq!(again.subject(), claims.subject());
    }

    // RFC 7009: the library only revokes at an https endpoint (RFC 7009 §2), so the client
    // posts the same request itself; the refreshed family is then refused
    revoke(&app, &registered, &revocation, rotated.secret()).await;
    refused_refresh(&client, &http, rotated).await;
    refused_access(&client, &http, refreshed.access_token()).await;

    // a second authorization in the same browser: signed in and consented, straight back
    let (redirect_2, arrived_2) = loopback().await;
    let client = client
        .clone()
        .set_redirect_uri(RedirectUrl::new(redirect_2).unwrap());
    let (challenge, verifier_2) = PkceCodeChallenge::new_random_sha256();
    let (url_2, _, nonce_2) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    browser.goto(&url_2.as_str()[issuer.len()..]).await;
    browser.expect_page("Back at the app").await;
    let (code, _) = code_of(&arrived_2.await.unwrap(), &issuer);
    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier_2)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the second code exchange: {e:?}"));
    let id_token: DealerIdToken = tokens.id_token().unwrap().to_string().parse().unwrap();
    id_token
        .claims(&verifier, &nonce_2)
        .expect("the second ID token verifies");

    // RP-initiated logout with the ID token as the hint: the sign-in ends everywhere
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .http_get_url();
    browser.goto(&logout.as_str()[issuer.len()..]).await;
    browser.expect_text("You are signed out").await;
    refused_refresh(&client, &http, tokens.refresh_token().unwrap()).await;
    refused_access(&client, &http, tokens.access_token()).await;
    browser.goto("/console").await;
    browser.expect_page("Sign in").await;
    browser.close().await;
}

/// `jwt` with its `sub` replaced and its signature kept.
fn with_subject(jwt: &str, sub: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut claims = rp::claims(jwt);
    claims["sub"] = sub.into();
    let parts: Vec<&str> = jwt.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// RFC 7009 revocation of `token` with `client_secret_basic`: 200 whatever the token was.
async fn revoke(app: &TestApp, client: &rp::Registered, endpoint: &str, token: &str) {
    let resp = app
        .client
        .post(endpoint)
        .basic_auth(client.id, client.secret.as_deref())
        .form(&[("token", token), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .expect("the revocation endpoint answers");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

/// The token endpoint refuses `token` (`invalid_grant`).
async fn refused_refresh(client: &Rp, http: &reqwest::Client, token: &RefreshToken) {
    let outcome = client
        .exchange_refresh_token(token)
        .unwrap()
        .request_async(http)
        .await;
    match outcome {
        Err(openidconnect::RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().as_ref(), "invalid_grant", "{e:?}")
        }
        other => panic!("an ended refresh token was not refused: {other:?}"),
    }
}

/// Userinfo refuses `token`.
async fn refused_access(client: &Rp, http: &reqwest::Client, token: &AccessToken) {
    let outcome: Result<UserInfoClaims<Dealership, CoreGenderClaim>, _> = client
        .user_info(token.clone(), None)
        .unwrap()
        .request_async(http)
        .await;
    assert!(
        outcome.is_err(),
        "an ended access token still reads userinfo"
    );
}

/// The relying party's client type after discovery.
type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
