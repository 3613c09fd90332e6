//! The token endpoint's refusals (RFC 6749 §5.2, RFC 7636 §4.6): JSON `{error,
//! error_description}`, never cached; a reused code also ends what its first exchange issued
//! (RFC 6749 §4.1.2).

use super::{
    rp::{self, REDIRECT, Registered},
    steps::{self, first_party, oauth_error, userinfo_status},
};
use crate::helpers::{PA_AGENT, TestApp, console::Console, count, exec, spawn_app, spawn_app_with};

/// A fresh code for `client` in a signed-in browser, and its PKCE verifier.
async fn code_for(console: &mut Console, client: &Registered) -> (String, String) {
    let (verifier, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let params = steps::back_at_client(&page);
    (params["code"].clone(), verifier)
}

/// The code grant for `client` with `code`, `verifier` and `redirect_uri`.
async fn exchange(
    app: &TestApp,
    client: &Registered,
    code: &str,
    verifier: Option<&str>,
    redirect_uri: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    app.client
        .post(app.url("/oauth2/token"))
        .basic_auth(client.id, client.secret.as_deref())
        .form(&form)
        .send()
        .await
        .expect("the token endpoint answers")
}

/// `POST /oauth2/token` with `body` exactly as given, authenticated with basic.
async fn raw(app: &TestApp, client: &Registered, body: &str) -> reqwest::Response {
    app.client
        .post(app.url("/oauth2/token"))
        .basic_auth(client.id, client.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("the token endpoint answers")
}

#[tokio::test]
async fn a_code_is_refused_without_its_verifier_its_redirect_uri_its_client_or_its_time() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let other = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;

    let (code, _) = code_for(&mut console, &client).await;
    let resp = exchange(&app, &client, &code, None, REDIRECT).await;
    assert_eq!(oauth_error(resp, 400).await, "invalid_grant", "no verifier");

    let (code, _) = code_for(&mut console, &client).await;
    let (wrong, _) = rp::pkce();
    let resp = exchange(&app, &client, &code, Some(&wrong), REDIRECT).await;
    assert_eq!(
        oauth_error(resp, 400).await,
        "invalid_grant",
        "wrong verifier"
    );

    let (code, verifier) = code_for(&mut console, &client).await;
    let resp = exchange(&app, &other, &code, Some(&verifier), REDIRECT).await;
    assert_eq!(
        oauth_error(resp, 400).await,
        "invalid_grant",
        "another client"
    );

    let (code, verifier) = code_for(&mut console, &client).await;
    let elsewhere = "http://127.0.0.1/cb";
    let resp = exchange(&app, &client, &code, Some(&verifier), elsewhere).await;
    assert_eq!(
        oauth_error(resp, 400).await,
        "invalid_grant",
        "redirect_uri"
    );

    let (code, verifier) = code_for(&mut console, &client).await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        "UPDATE oauth_codes SET expires_at = now() - interval '1 s' WHERE used_at IS NULL",
    )
    .await;
    let resp = exchange(&app, &client, &code, Some(&verifier), REDIRECT).await;
    assert_eq!(oauth_error(resp, 400).await, "invalid_grant", "expired");

    let resp = exchange(&app, &client, "no-such-code", Some(&verifier), REDIRECT).await;
    assert_eq!(
        oauth_error(resp, 400).await,
        "invalid_grant",
        "unknown code"
    );
    // each refusal of a genuine code is in the dealership's audit log, with its reason
    let audited = "SELECT count(*) AS n FROM audit_events \
                   WHERE action = 'oauth.grant_refused' AND changes ? 'reason'";
    assert_eq!(
        count(&owner, audited).await,
        5,
        "each genuine code refused is audited"
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_ends_what_its_first_exchange_issued() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (code, verifier) = code_for(&mut console, &client).await;
    let first = exchange(&app, &client, &code, Some(&verifier), REDIRECT).await;
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 200);

    let again = exchange(&app, &client, &code, Some(&verifier), REDIRECT).await;
    assert_eq!(oauth_error(again, 400).await, "invalid_grant");

    assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 401);
    assert_eq!(userinfo_status(&app, access).await, 401);
    let (status, body) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn client_authentication_is_refused_with_a_challenge_and_one_method_at_a_time() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (code, verifier) = code_for(&mut console, &client).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];

    let wrong = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(client.id, Some("not-the-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let challenge = wrong.headers().get("www-authenticate").cloned();
    assert_eq!(oauth_error(wrong, 401).await, "invalid_client");
    assert!(
        challenge.is_some_and(|c| c.to_str().unwrap().starts_with("Basic")),
        "a 401 names the scheme to use"
    );

    // client_secret_post with a wrong secret, and with none for a confidential client
    let id = client.id.to_string();
    for secret in ["not-the-secret", ""] {
        let mut posted = form.to_vec();
        posted.push(("client_id", &id));
        posted.push(("client_secret", secret));
        let resp = app
            .client
            .post(app.url("/oauth2/token"))
            .form(&posted)
            .send()
            .await
            .unwrap();
        assert_eq!(oauth_error(resp, 401).await, "invalid_client", "{secret:?}");
    }

    // both methods at once
    let mut both = form.to_vec();
    let secret = client.secret.clone().unwrap();
    both.push(("client_secret", &secret));
    let resp = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(client.id, Some(&secret))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(resp, 400).await, "invalid_request");

    // client_secret_post alone works (oidcc-server-client-secret-post)
    let mut posted = form.to_vec();
    posted.push(("client_id", &id));
    posted.push(("client_secret", &secret));
    let resp = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn other_grants_repeated_parameters_and_other_bodies_are_refused() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    for grant in ["password", "implicit", "urn:x:other"] {
        let body = format!("grant_type={grant}&username=a&password=b&scope=openid");
        let resp = raw(&app, &client, &body).await;
        assert_eq!(
            oauth_error(resp, 400).await,
            "unsupported_grant_type",
            "{grant}"
        );
    }
    // the client-credentials grant is a service account's: an OpenID client is none
    let machine = raw(&app, &client, "grant_type=client_credentials").await;
    assert_eq!(oauth_error(machine, 401).await, "invalid_client");
    let repeated = "grant_type=authorization_code&code=a&code=b&redirect_uri=x";
    assert_eq!(
        oauth_error(raw(&app, &client, repeated).await, 400).await,
        "invalid_request"
    );
    let missing = "code=a";
    assert_eq!(
        oauth_error(raw(&app, &client, missing).await, 400).await,
        "invalid_request"
    );
    let json = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(client.id, client.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(json, 400).await, "invalid_request");
}

#[tokio::test]
async fn a_refresh_token_works_once_and_only_for_its_own_client() {
    // no grace for a concurrent refresh: a spent token is refused at once
    let app = spawn_app_with(|s| s.auth.refresh_grace_secs = 0).await;
    let client = first_party(&app).await;
    let other = first_party(&app).await;
    let body = steps::tokens_for(&app, &client, &PA_AGENT).await;
    let refresh = body["refresh_token"].as_str().unwrap();

    let (status, refused) = steps::refresh(&app, &other, refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant", "another client's token");

    // oidcc-refresh-token: a new ID token for the same person, a rotated refresh token
    let (status, rotated) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 200, "{rotated}");
    let before = rp::claims(body["id_token"].as_str().unwrap());
    let after = rp::claims(rotated["id_token"].as_str().unwrap());
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(before[claim], after[claim], "{claim}");
    }
    assert_ne!(rotated["refresh_token"], body["refresh_token"]);
    let (status, reused) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{reused}");
    assert_eq!(reused["error"], "invalid_grant", "a spent refresh token");
}

/// The token endpoint from `address` (a trusted proxy's `X-Forwarded-For`), with `secret`.
async fn from_address(app: &TestApp, client: &Registered, address: &str, secret: &str) -> u16 {
    app.client
        .post(app.url("/oauth2/token"))
        .header("x-forwarded-for", address)
        .basic_auth(client.id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x.y")])
        .send()
        .await
        .expect("the token endpoint answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn wrong_secrets_lock_out_their_address_not_the_app() {
    let app = spawn_app_with(|s| {
        s.http.trust_forwarded_for = true;
        s.http.trusted_proxy_hops = 1;
        s.auth.lockout.delay_after = 10;
    })
    .await;
    let client = first_party(&app).await;
    // a client_id is public: anyone may send it with a wrong secret
    for _ in 0..5 {
        assert_eq!(
            from_address(&app, &client, "203.0.113.7", "wrong").await,
            401
        );
    }
    let secret = client.secret.clone().unwrap();
    assert_eq!(
        from_address(&app, &client, "203.0.113.7", &secret).await,
        429,
        "that address is locked out, even with the right secret"
    );
    // the app's own servers, elsewhere, go on: the grant is refused, the client is not
    assert_eq!(
        from_address(&app, &client, "198.51.100.9", &secret).await,
        400
    );
}
