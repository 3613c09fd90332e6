//! Every password check counts a guess before its answer can be seen: a burst of wrong current
//! passwords sent all at once, with the right one among them, is answered as the same guesses
//! sent one after another would be — the account locks after the fifth, and the right password
//! that arrives after that is 429 and changes nothing, on every route that asks for it again.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{PA_AGENT, TestApp, count, mfa, spawn_app_with};

const WRONG_GUESSES: usize = 20;

fn five_strikes(s: &mut dealergate::config::Settings) {
    s.auth.lockout.account_max_failures = 5;
    s.auth.lockout.ip_max_failures = 1_000;
    s.auth.lockout.delay_after = 100; // no delay: this is about the count
}

/// Sends `WRONG_GUESSES` wrong passwords at once, then — as soon as the first of them is
/// answered, while the others still wait for the hasher — the right one; its status, after
/// every guess was answered (each 422 or 429).
async fn burst(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: impl Fn(&str) -> Value,
    right_password: &str,
) -> StatusCode {
    let (answered, mut answers) = mpsc::unbounded_channel();
    for n in 0..WRONG_GUESSES {
        let guess = app
            .as_user(method.clone(), path, token)
            .json(&body(&format!("wrong-guess-{n}")));
        let answered = answered.clone();
        tokio::spawn(async move {
            let status = guess.send().await.expect("request sent").status();
            let _ = answered.send(status);
        });
    }
    drop(answered);
    let first = answers.recv().await.expect("a first answer");
    let right = app
        .as_user(method, path, token)
        .json(&body(right_password))
        .send()
        .await
        .expect("request sent")
        .status();
    let mut wrong = vec![first];
    while let Some(status) = answers.recv().await {
        wrong.push(status);
    }
    assert_eq!(wrong.len(), WRONG_GUESSES);
    for status in &wrong {
        assert!(
            *status == StatusCode::UNPROCESSABLE_ENTITY || *status == StatusCode::TOO_MANY_REQUESTS,
            "a wrong guess is 422 or 429, not {status}"
        );
    }
    let refused = wrong
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!(refused, 5, "exactly five guesses were checked: {wrong:?}");
    right
}

async fn agent(app: &TestApp) -> String {
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access
}

async fn owner_text(app: &TestApp, sql: &str) -> String {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let owner = app.db.owner().await;
    owner
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .expect("one row")
        .try_get::<String>("", "t")
        .unwrap()
}

fn agent_hash_sql() -> String {
    format!(
        "SELECT password_hash AS t FROM users WHERE id = '{}'",
        PA_AGENT.id
    )
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_change_the_password() {
    let app = spawn_app_with(five_strikes).await;
    let token = agent(&app).await;
    let before = owner_text(&app, &agent_hash_sql()).await;
    let right = burst(
        &app,
        &token,
        Method::POST,
        "/api/v1/auth/password",
        |current| json!({"current_password": current, "new_password": "Fresh-and-long-9"}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(owner_text(&app, &agent_hash_sql()).await, before);
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_change_the_email() {
    let app = spawn_app_with(five_strikes).await;
    let token = agent(&app).await;
    let right = burst(
        &app,
        &token,
        Method::POST,
        "/api/v1/auth/email",
        |current| json!({"current_password": current, "new_email": "taken-over@example.net"}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    let owner = app.db.owner().await;
    let mailed = "SELECT count(*) AS n FROM mail_outbox WHERE recipient = 'taken-over@example.net'";
    assert_eq!(count(&owner, mailed).await, 0, "no confirmation was sent");
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_close_the_account() {
    let app = spawn_app_with(five_strikes).await;
    let token = agent(&app).await;
    let right = burst(
        &app,
        &token,
        Method::DELETE,
        "/api/v1/auth/me",
        |current| json!({"current_password": current}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    let owner = app.db.owner().await;
    let open = format!(
        "SELECT count(*) AS n FROM users WHERE id = '{}' AND deleted_at IS NULL",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &open).await, 1, "the account is still open");
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_start_an_enrolment() {
    let app = spawn_app_with(five_strikes).await;
    let token = agent(&app).await;
    let right = burst(
        &app,
        &token,
        Method::POST,
        "/api/v1/auth/mfa/totp",
        |current| json!({"current_password": current}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    let owner = app.db.owner().await;
    let factors = format!(
        "SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{}'",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &factors).await, 0, "no factor was added");
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_remove_a_factor() {
    let app = spawn_app_with(five_strikes).await;
    let enrolled = mfa::enrol(&app, &agent(&app).await, PA_AGENT.password).await;
    let path = format!("/api/v1/auth/mfa/totp/{}", enrolled.app.factor_id);
    let code = enrolled.app.next_code().await;
    let right = burst(
        &app,
        &enrolled.access,
        Method::DELETE,
        &path,
        |current| json!({"current_password": current, "code": code}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    let owner = app.db.owner().await;
    let factors = format!(
        "SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{}' AND confirmed_at IS NOT NULL",
        PA_AGENT.id
    );
    assert_eq!(
        count(&owner, &factors).await,
        1,
        "the factor is still there"
    );
}

#[tokio::test]
async fn a_burst_of_current_passwords_cannot_renew_the_recovery_codes() {
    let app = spawn_app_with(five_strikes).await;
    let enrolled = mfa::enrol(&app, &agent(&app).await, PA_AGENT.password).await;
    let codes_sql = format!(
        "SELECT string_agg(encode(code_hash, 'hex'), ',' ORDER BY id) AS t \
         FROM mfa_recovery_codes WHERE person_id = '{}'",
        PA_AGENT.id
    );
    let before = owner_text(&app, &codes_sql).await;
    let code = enrolled.app.next_code().await;
    let right = burst(
        &app,
        &enrolled.access,
        Method::POST,
        "/api/v1/auth/mfa/recovery-codes",
        |current| json!({"current_password": current, "code": code}),
        PA_AGENT.password,
    )
    .await;
    assert_eq!(right, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(owner_text(&app, &codes_sql).await, before, "the same codes");
}
