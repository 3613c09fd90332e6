//! Second-factor behaviours `mfa.rs` leaves out: the `mfa_token` expiring, recovery codes
//! refused a renewal without both proofs, wrong recovery codes locking the account, removing one
//! of two apps, and the two-step sign-in through the OAuth2 form and by phone.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    PA_AGENT, TestApp, Tokens, assert_locked, count, error_of,
    mfa::{Enrolled, challenge, claims, confirm, enrol, start_enrolment, verify},
    spawn_app_with,
};

fn no_delays(s: &mut dealergate::config::Settings) {
    s.auth.lockout.delay_after = 100;
    s.auth.lockout.account_max_failures = 100;
}

/// The agent, signed in and enrolled.
async fn enrolled_agent(app: &TestApp) -> Enrolled {
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    enrol(app, &plain.access, PA_AGENT.password).await
}

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

/// The agent's recovery codes as stored (their digests and whether used), to compare.
async fn stored_codes(app: &TestApp) -> String {
    use sea_orm::ConnectionTrait;
    let sql = format!(
        "SELECT coalesce(string_agg(id::text || ':' || encode(code_hash, 'hex') || ':' || \
         (used_at IS NULL)::text, ',' ORDER BY id), '') AS codes \
         FROM mfa_recovery_codes WHERE person_id = '{}'",
        PA_AGENT.id
    );
    let row = app
        .db
        .owner()
        .await
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "codes").unwrap()
}

#[tokio::test]
async fn an_mfa_token_expires_after_challenge_ttl_secs() {
    let app = spawn_app_with(|s| {
        no_delays(s);
        s.auth.mfa.challenge_ttl_secs = 2;
    })
    .await;
    let enrolled = enrolled_agent(&app).await;
    let resp = app.login(PA_AGENT.email, PA_AGENT.password).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 2, "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_millis(3_100)).await;
    // the app's right code no longer completes the expired sign-in
    let code = enrolled.app.next_code().await;
    error_of(verify(&app, &mfa_token, json!({"code": code})).await, 401).await;

    // a new sign-in within its lifetime does
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let code = enrolled.app.next_code().await;
    let tokens = Tokens::read(verify(&app, &mfa_token, json!({"code": code})).await).await;
    assert_eq!(claims(&tokens.access)["amr"], json!(["pwd", "otp"]));
}

async fn renew(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.send_as(Method::POST, "/api/v1/auth/mfa/recovery-codes", token, body)
        .await
}

async fn renewals(app: &TestApp) -> i64 {
    n(
        app,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.recovery_codes_regenerated'",
    )
    .await
}

#[tokio::test]
async fn renewing_recovery_codes_with_a_wrong_password_is_refused_and_keeps_the_old_ones() {
    let app = spawn_app_with(no_delays).await;
    let enrolled = enrolled_agent(&app).await;
    let before = stored_codes(&app).await;
    assert_eq!(before.split(',').count(), 10);

    // the app's right code, with a wrong password
    let code = enrolled.app.next_code().await;
    let resp = renew(
        &app,
        &enrolled.access,
        json!({"current_password": "not-the-password", "code": code}),
    )
    .await;
    let error = error_of(resp, 422).await;
    assert_eq!(error["details"][0]["field"], "current_password", "{error}");
    assert_eq!(stored_codes(&app).await, before, "no new codes");
    assert_eq!(renewals(&app).await, 0);

    // the old codes still work
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let old = &enrolled.recovery_codes[0];
    Tokens::read(verify(&app, &mfa_token, json!({"recovery_code": old})).await).await;
}

#[tokio::test]
async fn renewing_recovery_codes_with_a_wrong_code_is_refused_and_keeps_the_old_ones() {
    let app = spawn_app_with(no_delays).await;
    let enrolled = enrolled_agent(&app).await;
    let before = stored_codes(&app).await;

    for (what, answer) in [
        ("a wrong app code", json!({"code": "000000"})),
        (
            "a wrong recovery code",
            json!({"recovery_code": "2222-3333-4444"}),
        ),
    ] {
        let mut body = answer;
        body["current_password"] = json!(PA_AGENT.password);
        let resp = renew(&app, &enrolled.access, body).await;
        assert_eq!(resp.status(), 422, "{what}");
        assert_eq!(stored_codes(&app).await, before, "no new codes: {what}");
    }
    assert_eq!(renewals(&app).await, 0);

    // the old codes still work
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let old = &enrolled.recovery_codes[0];
    Tokens::read(verify(&app, &mfa_token, json!({"recovery_code": old})).await).await;
}

#[tokio::test]
async fn wrong_recovery_codes_lock_the_account_like_wrong_passwords() {
    let app = spawn_app_with(crate::lockout::three_strikes).await;
    let enrolled = enrolled_agent(&app).await;
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    // well-formed codes (so they are checked, not refused as malformed), none of the agent's
    for wrong in ["2222-3333-4444", "5555-6666-7777", "8888-9999-aaaa"] {
        let resp = verify(&app, &mfa_token, json!({"recovery_code": wrong})).await;
        error_of(resp, 401).await;
    }
    let resp = verify(&app, &mfa_token, json!({"recovery_code": "bbbb-cccc-dddd"})).await;
    assert_locked(resp).await;
    // locked means locked: a right recovery code, and the password
    let right = &enrolled.recovery_codes[0];
    let resp = verify(&app, &mfa_token, json!({"recovery_code": right})).await;
    error_of(resp, 429).await;
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 429).await;
    let failed = n(
        &app,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.verification_failed'",
    )
    .await;
    assert_eq!(failed, 3);
    // and the right code was not spent by the refused attempt
    let unused = n(
        &app,
        &format!(
            "SELECT count(*) AS n FROM mfa_recovery_codes WHERE person_id = '{}' AND used_at IS NULL",
            PA_AGENT.id
        ),
    )
    .await;
    assert_eq!(unused, 10);
}

#[tokio::test]
async fn removing_one_of_two_apps_keeps_the_recovery_codes() {
    let app = spawn_app_with(no_delays).await;
    let first = enrolled_agent(&app).await;
    // a second app (the first one's code is fresh, so no step-up is needed)
    let (second, _) = start_enrolment(&app, &first.access, PA_AGENT.password).await;
    let resp = confirm(&app, &first.access, &second).await;
    assert_eq!(resp.status(), 200, "second app confirmed");
    let confirmed: Value = resp.json().await.unwrap();
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let token = confirmed["token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // the first app goes, proven with the second one's code
    let path = format!("/api/v1/auth/mfa/totp/{}", first.app.factor_id);
    let body = json!({"current_password": PA_AGENT.password, "code": second.next_code().await});
    let resp = app.send_as(Method::DELETE, &path, &token, body).await;
    assert_eq!(resp.status(), 204);

    let status: Value = app
        .get_as("/api/v1/auth/mfa", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["factors"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["factors"][0]["id"], second.factor_id.as_str());
    assert_eq!(status["recovery_codes_remaining"], 10, "{status}");
    // a recovery code still signs in
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let tokens =
        Tokens::read(verify(&app, &mfa_token, json!({"recovery_code": codes[0]})).await).await;
    assert_eq!(tokens.body["user"]["id"], PA_AGENT.id.to_string());
}

#[tokio::test]
async fn the_oauth2_password_form_asks_for_the_second_factor_too() {
    let app = spawn_app_with(no_delays).await;
    let enrolled = enrolled_agent(&app).await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", PA_AGENT.email),
            ("password", PA_AGENT.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "no tokens yet: {body}");
    let mfa_token = body["mfa_token"].as_str().unwrap();

    let code = enrolled.app.next_code().await;
    let tokens = Tokens::read(verify(&app, mfa_token, json!({"code": code})).await).await;
    assert_eq!(claims(&tokens.access)["amr"], json!(["pwd", "otp"]));
    assert_eq!(tokens.body["user"]["id"], PA_AGENT.id.to_string());
}

#[tokio::test]
async fn signing_in_by_phone_asks_for_the_second_factor_too() {
    let app = spawn_app_with(no_delays).await;
    let enrolled = enrolled_agent(&app).await;
    let phone = PA_AGENT.phone.unwrap();
    let resp = app.login_by_phone(phone, PA_AGENT.password).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "no tokens yet: {body}");
    let mfa_token = body["mfa_token"].as_str().unwrap();

    let code = enrolled.app.next_code().await;
    let tokens = Tokens::read(verify(&app, mfa_token, json!({"code": code})).await).await;
    assert_eq!(claims(&tokens.access)["amr"], json!(["pwd", "otp"]));
    assert_eq!(tokens.body["user"]["id"], PA_AGENT.id.to_string());
}
