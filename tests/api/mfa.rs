//! Multi-factor sign-in, as a user meets it: enrol an authenticator app (codes computed here
//! from the secret the enrolment showed), sign in in two steps, refresh, and what each wrong,
//! replayed, stale or reused code gets. Policy (who must have MFA, step-up, support's reset)
//! is in `mfa_policy.rs`.

use std::time::Duration;

use dealergate::testing::SecretBox;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    PA_AGENT, TestApp, Tokens, assert_locked, count, error_of,
    mfa::{challenge, claims, confirm, enrol, sign_in, start_enrolment, unix_now, verify},
    probes::metric_value,
    smtp::mailing_app,
    spawn_app_with,
};

fn no_delays(s: &mut dealergate::config::Settings) {
    s.auth.lockout.delay_after = 100;
    s.auth.lockout.account_max_failures = 100;
}

async fn mfa_metric(app: &TestApp, event: &str) -> f64 {
    let text = app.ops("/metrics").await.text().await.unwrap();
    metric_value(
        &text,
        &format!("dealergate_mfa_events_total{{event=\"{event}\"}}"),
    )
    .unwrap_or(0.0)
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    let owner = app.db.owner().await;
    let sql = format!("SELECT count(*) AS n FROM audit_events WHERE action = '{action}'");
    count(&owner, &sql).await
}

#[tokio::test]
async fn an_enrolled_app_makes_sign_in_two_steps_and_the_tokens_say_otp() {
    let (app, smtp) = mailing_app(no_delays).await;
    let enrolled_before = mfa_metric(&app, "enrolled").await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let elsewhere = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let c = claims(&plain.access);
    assert_eq!(
        (c["amr"].clone(), c["mfa"].clone()),
        (json!(["pwd"]), json!("optional"))
    );

    // enrolment asks for the password, and shows the secret as a URI, in base32 and as a QR code
    let wrong = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/totp",
            &plain.access,
            json!({"current_password": "nope"}),
        )
        .await;
    assert_eq!(
        error_of(wrong, 422).await["details"][0]["field"],
        "current_password"
    );
    let (pending, started) = start_enrolment(&app, &plain.access, PA_AGENT.password).await;
    let uri = started["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/dealergate:"), "{uri}");
    assert!(
        uri.contains("algorithm=SHA1") || !uri.contains("algorithm="),
        "{uri}"
    );
    assert!(
        started["qr_svg"].as_str().unwrap().starts_with("<?xml"),
        "an SVG document"
    );
    let status: Value = app
        .get_as("/api/v1/auth/mfa", &plain.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["factors"][0]["confirmed_at"],
        Value::Null,
        "pending: {status}"
    );
    // a pending factor does not count yet
    let still_plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(claims(&still_plain.access)["mfa"], "optional");

    // a wrong code does not confirm; the app's code does, and ten recovery codes come once
    let path = format!("/api/v1/auth/mfa/totp/{}/confirm", pending.factor_id);
    let bad = app
        .send_as(
            Method::POST,
            &path,
            &plain.access,
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(error_of(bad, 422).await["details"][0]["field"], "code");
    let resp = confirm(&app, &plain.access, &pending).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let confirmed: Value = resp.json().await.unwrap();
    let codes = confirmed["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    let fresh = claims(confirmed["token"]["access_token"].as_str().unwrap());
    assert_eq!(
        (fresh["amr"].clone(), fresh["mfa"].clone()),
        (json!(["pwd", "otp"]), json!("enrolled"))
    );
    // the session opened elsewhere with the password alone ends; the enrolling one stands
    assert_eq!(
        app.get_as("/api/v1/auth/me", &elsewhere.access)
            .await
            .status(),
        401
    );
    error_of(app.refresh(&elsewhere.refresh).await, 401).await;
    // and had it raced the enrolment and survived (revived here in SQL), it would still not
    // refresh: a session that never proved the app goes no further than its access token
    let sid = claims(&elsewhere.access)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::helpers::exec(
        &app.db.owner().await,
        &format!("UPDATE sessions SET revoked_at = NULL, revoked_reason = NULL WHERE id = '{sid}'"),
    )
    .await;
    error_of(app.refresh(&elsewhere.refresh).await, 401).await;
    // confirmed once: no longer pending (and the token from before the app is stale for it)
    let fresh_token = confirmed["token"]["access_token"].as_str().unwrap();
    let again = app
        .send_as(Method::POST, &path, fresh_token, json!({"code": "123456"}))
        .await;
    error_of(again, 404).await;

    let status: Value = app
        .get_as("/api/v1/auth/mfa", &plain.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_remaining"], 10);
    assert_eq!(status["factors"].as_array().unwrap().len(), 1);
    assert!(status["factors"][0]["confirmed_at"].is_string(), "{status}");
    assert!(
        status.to_string().find("secret").is_none(),
        "no secret listed: {status}"
    );

    // now a password alone gets no tokens: the second step does
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let garbage = verify(&app, "not-a-token", json!({"code": "123456"})).await;
    error_of(garbage, 401).await;
    let malformed = verify(&app, &mfa_token, json!({"code": "12345"})).await;
    error_of(malformed, 422).await;
    let both = verify(
        &app,
        &mfa_token,
        json!({"code": "123456", "recovery_code": "abcd-efgh-jkmn"}),
    )
    .await;
    error_of(both, 422).await;
    let code = pending.next_code().await;
    let signed_in = Tokens::read(verify(&app, &mfa_token, json!({"code": code})).await).await;
    let c = claims(&signed_in.access);
    assert_eq!(
        (c["amr"].clone(), c["mfa"].clone()),
        (json!(["pwd", "otp"]), json!("enrolled"))
    );
    let auth_time = c["auth_time"].as_i64().unwrap();
    assert!(
        (unix_now() as i64 - auth_time).abs() < 10,
        "auth_time is the sign-in: {c}"
    );
    assert_eq!(signed_in.body["user"]["id"], PA_AGENT.id.to_string());
    // the token is single-use, even with the next right code
    let reused = verify(&app, &mfa_token, json!({"code": pending.next_code().await})).await;
    error_of(reused, 401).await;
    // a refresh keeps how the session was authenticated
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let refreshed = app.refresh_ok(&signed_in.refresh).await;
    let r = claims(&refreshed.access);
    assert_eq!(
        (r["amr"].clone(), r["auth_time"].clone()),
        (json!(["pwd", "otp"]), json!(auth_time))
    );
    assert_eq!(
        app.get_as("/api/v1/auth/me", &refreshed.access)
            .await
            .status(),
        200
    );

    assert_eq!(audited(&app, "mfa.enrolled").await, 1);
    assert_eq!(audited(&app, "login.mfa_required").await, 1);
    assert!(mfa_metric(&app, "enrolled").await >= enrolled_before + 1.0);
    let notices = smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await;
    assert!(
        notices
            .iter()
            .any(|m| m.text().contains("authenticator app was just added"))
    );
}

/// Waits until the current time step has at least `secs` left, and answers it.
async fn settled_step(secs: u64) -> u64 {
    loop {
        let now = unix_now();
        if 30 - now % 30 >= secs {
            return now / 30;
        }
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
}

#[tokio::test]
async fn a_code_counts_once_and_only_within_one_step_of_now() {
    let app = spawn_app_with(no_delays).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let (pending, _) = start_enrolment(&app, &plain.access, PA_AGENT.password).await;
    let step = settled_step(12).await;
    // the previous step's code (an app's clock a little behind) confirms
    let path = format!("/api/v1/auth/mfa/totp/{}/confirm", pending.factor_id);
    let previous = pending.code_of_step(step - 1);
    let resp = app
        .send_as(
            Method::POST,
            &path,
            &plain.access,
            json!({"code": previous}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    for (what, code) in [
        ("two steps behind", pending.code_of_step(step - 2)),
        ("two steps ahead", pending.code_of_step(step + 2)),
        ("the step already used", previous.clone()),
    ] {
        if code == pending.code_of_step(step) || code == pending.code_of_step(step + 1) {
            continue; // a six-digit collision with a valid code: nothing to learn
        }
        let resp = verify(&app, &mfa_token, json!({"code": code})).await;
        assert_eq!(resp.status(), 401, "{what}");
    }
    // the next step's code (an app's clock a little ahead) signs in
    let ahead = pending.code_of_step(step + 1);
    let tokens = Tokens::read(verify(&app, &mfa_token, json!({"code": ahead})).await).await;
    // …once: replayed into a new sign-in, and the current step (now behind the last used), no
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    for code in [ahead, pending.code_of_step(step)] {
        error_of(verify(&app, &mfa_token, json!({"code": code})).await, 401).await;
    }
    assert_eq!(audited(&app, "mfa.verification_failed").await, 5);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        200
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_ever_even_when_raced() {
    let (app, smtp) = mailing_app(no_delays).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let codes = &enrolled.recovery_codes;

    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    // typed in upper case with spaces for dashes, it still reads
    let typed = codes[0].to_uppercase().replace('-', " ");
    let tokens =
        Tokens::read(verify(&app, &mfa_token, json!({"recovery_code": typed})).await).await;
    assert_eq!(claims(&tokens.access)["amr"], json!(["pwd", "otp"]));
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    error_of(
        verify(&app, &mfa_token, json!({"recovery_code": codes[0]})).await,
        401,
    )
    .await;

    // eight step-ups with one code at once: one wins
    let raced = futures_util::future::join_all((0..8).map(|_| {
        app.send_as(
            Method::POST,
            "/api/v1/auth/mfa/step-up",
            &tokens.access,
            json!({"recovery_code": codes[1]}),
        )
    }))
    .await;
    let statuses: Vec<u16> = raced.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // the others were checked after it (422), or found it running (429, not counted)
    assert!(
        statuses.iter().all(|s| [200, 422, 429].contains(s)),
        "{statuses:?}"
    );
    // eight second steps with one code and one token at once: one session
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let raced = futures_util::future::join_all(
        (0..8).map(|_| verify(&app, &mfa_token, json!({"recovery_code": codes[2]}))),
    )
    .await;
    let won = raced.iter().filter(|r| r.status() == 200).count();
    assert_eq!(
        won,
        1,
        "{:?}",
        raced.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    // two different codes racing for one token: one session, and the loser's code stays usable
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (a, b) = tokio::join!(
        verify(&app, &mfa_token, json!({"recovery_code": codes[3]})),
        verify(&app, &mfa_token, json!({"recovery_code": codes[4]})),
    );
    assert_eq!(
        [a.status(), b.status()]
            .iter()
            .filter(|s| **s == 200)
            .count(),
        1
    );
    let status: Value = app
        .get_as("/api/v1/auth/mfa", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_remaining"], 10 - 4, "{status}");
    assert_eq!(audited(&app, "mfa.recovery_code_used").await, 4);
    let notices = smtp
        .wait_for(PA_AGENT.email, 5, Duration::from_secs(10))
        .await;
    let used = notices
        .iter()
        .filter(|m| m.text().contains("recovery codes"))
        .count();
    assert_eq!(used, 4, "one notice per code used");

    // new codes need the password and a code; the old ones stop working
    let renew =
        json!({"current_password": PA_AGENT.password, "code": enrolled.app.next_code().await});
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/recovery-codes",
            &tokens.access,
            renew,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let renewed: Value = resp.json().await.unwrap();
    assert_eq!(renewed["recovery_codes"].as_array().unwrap().len(), 10);
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    error_of(
        verify(&app, &mfa_token, json!({"recovery_code": codes[5]})).await,
        401,
    )
    .await;
    let fresh = renewed["recovery_codes"][0].as_str().unwrap();
    Tokens::read(verify(&app, &mfa_token, json!({"recovery_code": fresh})).await).await;
}

#[tokio::test]
async fn wrong_codes_lock_the_account_like_wrong_passwords() {
    let app = spawn_app_with(crate::lockout::three_strikes).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let failed_before = mfa_metric(&app, "verification_failed").await;
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    for wrong in ["000000", "111111", "222222"] {
        error_of(verify(&app, &mfa_token, json!({"code": wrong})).await, 401).await;
    }
    assert_locked(verify(&app, &mfa_token, json!({"code": "333333"})).await).await;
    // locked means locked: the right code, and the password too
    let right = enrolled.app.next_code().await;
    error_of(verify(&app, &mfa_token, json!({"code": right})).await, 429).await;
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 429).await;
    assert_eq!(audited(&app, "mfa.verification_failed").await, 3);
    assert!(mfa_metric(&app, "verification_failed").await >= failed_before + 3.0);
}

async fn app_verify_status(app: &TestApp, mfa_token: &str, code: u32) -> u16 {
    let resp = verify(app, mfa_token, json!({"code": format!("{code:06}")})).await;
    resp.status().as_u16()
}

#[tokio::test]
async fn a_burst_of_wrong_codes_gets_no_more_guesses_and_a_reset_link_leaves_the_codes_lock() {
    let (app, smtp) = mailing_app(crate::lockout::three_strikes).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    // twenty guesses at once: one is checked at a time, the rest are turned away unchecked,
    // and none gets past the count
    let guesses = futures_util::future::join_all((0..20).map(|i| {
        verify(
            &app,
            &mfa_token,
            json!({"code": format!("{:06}", 100_000 + i)}),
        )
    }))
    .await;
    let statuses: Vec<u16> = guesses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
    let checked = statuses.iter().filter(|s| **s == 401).count() as i64;
    assert!((1..=3).contains(&checked), "{statuses:?}");
    assert_eq!(audited(&app, "mfa.verification_failed").await, checked);
    let mut sequential = 0;
    while app_verify_status(&app, &mfa_token, 200_000 + sequential).await == 401 {
        sequential += 1;
        assert!(
            sequential <= 3,
            "the lock came after three wrong codes in all"
        );
    }
    assert_eq!(audited(&app, "mfa.verification_failed").await, 3);

    // a reset link proves the mailbox and lifts the password lock, not the codes' lock: the
    // password gets as far as the second step, and the app's right code is still refused
    let asked = app
        .post_json(
            "/api/v1/auth/password-reset",
            json!({"email": PA_AGENT.email}),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let mail = smtp
        .wait_for(PA_AGENT.email, 2, Duration::from_secs(10))
        .await;
    let link = mail
        .iter()
        .rev()
        .find(|m| m.text().contains("token="))
        .unwrap();
    let confirm = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": link.token(), "new_password": "Fresh-Agent-Pass-42"}),
        )
        .await;
    assert_eq!(confirm.status(), 204);
    let mfa_token = challenge(&app, PA_AGENT.email, "Fresh-Agent-Pass-42").await;
    let right = enrolled.app.next_code().await;
    assert_locked(verify(&app, &mfa_token, json!({"code": right})).await).await;
}

#[tokio::test]
async fn removing_the_last_app_needs_the_password_and_a_code_and_ends_the_second_step() {
    let (app, smtp) = mailing_app(no_delays).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let path = format!("/api/v1/auth/mfa/totp/{}", enrolled.app.factor_id);
    let other = format!("/api/v1/auth/mfa/totp/{}", uuid::Uuid::now_v7());
    let remove = |path: &String, password: &str, code: String| {
        let (path, body) = (
            path.clone(),
            json!({"current_password": password, "code": code}),
        );
        let (app, token) = (&app, plain.access.clone());
        async move { app.send_as(Method::DELETE, &path, &token, body).await }
    };
    let wrong_password = remove(&path, "wrong", enrolled.app.next_code().await).await;
    error_of(wrong_password, 422).await;
    error_of(remove(&path, PA_AGENT.password, "000000".into()).await, 422).await;
    let unknown = remove(&other, PA_AGENT.password, enrolled.app.next_code().await).await;
    error_of(unknown, 404).await;
    let resp = remove(&path, PA_AGENT.password, enrolled.app.next_code().await).await;
    assert_eq!(resp.status(), 204);
    // a password signs in alone again; the recovery codes went with the last app
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(claims(&tokens.access)["mfa"], "optional");
    let status: Value = app
        .get_as("/api/v1/auth/mfa", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            status["factors"].clone(),
            status["recovery_codes_remaining"].clone()
        ),
        (json!([]), json!(0))
    );
    assert_eq!(audited(&app, "mfa.factor_removed").await, 1);
    let notices = smtp
        .wait_for(PA_AGENT.email, 2, Duration::from_secs(10))
        .await;
    assert!(
        notices
            .iter()
            .any(|m| m.text().contains("authenticator app was just removed"))
    );
}

#[tokio::test]
async fn a_secret_is_sealed_in_the_database_and_useless_without_the_key() {
    let app = spawn_app_with(no_delays).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let secret = enrolled.app.totp.secret().as_bytes().to_vec();
    let base32 = enrolled.app.totp.secret().to_base32();

    let owner = app.db.owner().await;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &owner,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT id, person_id, secret_sealed, secret_sealed::text AS as_text FROM mfa_factors",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let sealed: Vec<u8> = row.try_get("", "secret_sealed").unwrap();
    let as_text: String = row.try_get("", "as_text").unwrap();
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_slice()),
        "not in the clear"
    );
    assert!(
        !as_text.to_uppercase().contains(&base32),
        "not in base32 either"
    );
    // the server's key opens it, bound to its factor and user; any other key does not
    let key = app
        .state
        .settings
        .auth
        .mfa
        .encryption_key
        .as_ref()
        .unwrap()
        .expose()
        .clone();
    let (id, user): (uuid::Uuid, uuid::Uuid) = (
        row.try_get("", "id").unwrap(),
        row.try_get("", "person_id").unwrap(),
    );
    let ours = SecretBox::from_base64(&key).unwrap();
    assert_eq!(ours.open(id, user, &sealed), Some(secret));
    let theirs = SecretBox::from_base64(&crate::helpers::mfa_key()).unwrap();
    assert_eq!(theirs.open(id, user, &sealed), None);

    // a replica with another key cannot check the app's codes
    let stranger = app
        .spawn_replica_with(|s| {
            s.auth.mfa.encryption_key =
                Some(dealergate::config::Secret::new(crate::helpers::mfa_key()))
        })
        .await;
    let mfa_token = challenge(&stranger, PA_AGENT.email, PA_AGENT.password).await;
    let code = enrolled.app.next_code().await;
    error_of(
        verify(&stranger, &mfa_token, json!({"code": code})).await,
        401,
    )
    .await;
    sign_in(&app, PA_AGENT.email, PA_AGENT.password, &enrolled.app).await;
}
