//! Verified addresses: a new user is mailed a single-use link, `User.email_verified` follows
//! it, login can be made to wait for it, and a new link can be asked for (throttled).

use std::time::Duration;

use dealergate::config::Settings;
use serde_json::{Value, json};

use crate::helpers::{
    PA_AGENT, PA_PRINCIPAL, TestApp, count, error_of, exec,
    smtp::{SmtpServer, mailing_app},
};

const NEW: &str = "newhire@premiumauto.com";
const PASSWORD: &str = "a fine passphrase";
const VERIFY: &str = "/api/v1/auth/verify-email";
const RESEND: &str = "/api/v1/auth/verify-email/resend";

async fn spawn(configure: impl FnOnce(&mut Settings)) -> (TestApp, SmtpServer) {
    mailing_app(configure).await
}

/// The principal creates `NEW`; returns the created user.
async fn hire(app: &TestApp) -> Value {
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    app.create_user(&principal.access, NEW, PASSWORD, "agent")
        .await
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(VERIFY, json!({"token": token})).await
}

#[tokio::test]
async fn a_new_user_is_mailed_a_link_that_verifies_the_address_once() {
    let (app, smtp) = spawn(|_| {}).await;
    let created = hire(&app).await;
    assert_eq!(created["email_verified"], false);
    let mail = &smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0];
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Confirm your Premium Auto email address")
    );
    assert!(
        mail.text()
            .contains("https://app.example.test/console/verify-email?token=")
    );

    assert_eq!(verify(&app, &mail.token()).await.status(), 204);
    let me = app.login_ok(NEW, PASSWORD).await;
    assert_eq!(me.body["user"]["email_verified"], true);
    let again = error_of(verify(&app, &mail.token()).await, 422).await;
    assert_eq!(again["details"][0]["field"], "token");
    let owner = app.db.owner().await;
    let audited = "SELECT count(*) AS n FROM audit_events WHERE action = 'user.email_verified'";
    assert_eq!(count(&owner, audited).await, 1);
    let demo = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        demo.body["user"]["email_verified"], true,
        "the demo users are verified"
    );
}

#[tokio::test]
async fn when_required_login_waits_for_the_verification_and_says_so_only_to_the_password() {
    let (app, smtp) = spawn(|s| s.auth.require_verified_email = true).await;
    hire(&app).await;
    let unverified = error_of(app.login(NEW, PASSWORD).await, 403).await;
    assert_eq!(unverified["type"], "email_not_verified");
    error_of(app.login(NEW, "not the password").await, 401).await;

    let mail = &smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0];
    assert_eq!(verify(&app, &mail.token()).await.status(), 204);
    app.login_ok(NEW, PASSWORD).await;
}

#[tokio::test]
async fn a_new_link_voids_the_old_one_and_asking_again_is_throttled() {
    let (app, smtp) = spawn(|s| s.auth.lockout.account_max_failures = 3).await;
    hire(&app).await;
    let me = app.login_ok(NEW, PASSWORD).await;
    let first = smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0].token();
    assert_eq!(app.post_as(RESEND, &me.access).await.status(), 202);
    let second = smtp.wait_for(NEW, 2, Duration::from_secs(10)).await[1].token();
    error_of(verify(&app, &first).await, 422).await;
    assert_eq!(verify(&app, &second).await.status(), 204);

    // verified: the same answer, and nothing sent
    assert_eq!(app.post_as(RESEND, &me.access).await.status(), 202);
    assert_eq!(app.post_as(RESEND, &me.access).await.status(), 202);
    let locked = app.post_as(RESEND, &me.access).await;
    assert!(locked.headers().get("retry-after").is_some());
    error_of(locked, 429).await;
    // a link is queued in the request's own transaction: the outbox holds all there will be
    let owner = app.db.owner().await;
    let queued = format!("SELECT count(*) AS n FROM mail_outbox WHERE recipient = '{NEW}'");
    assert_eq!(count(&owner, &queued).await, 2, "the two links, no third");
    // and once nothing in it waits any longer, the mailbox holds what was sent
    let waiting =
        "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL";
    let started = std::time::Instant::now();
    while count(&owner, waiting).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the outbox still has messages waiting after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received: Vec<_> = smtp.received().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(received, [NEW, NEW]);
    let resent = "SELECT count(*) AS n FROM audit_events WHERE action = 'user.verification_sent'";
    assert_eq!(
        count(&owner, resent).await,
        1,
        "the one resend that sent a link"
    );
}

#[tokio::test]
async fn a_link_dies_with_a_changed_address_or_a_suspended_dealership() {
    let (app, smtp) = spawn(|_| {}).await;
    let created = hire(&app).await;
    let token = smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0].token();
    let owner = app.db.owner().await;
    let id = created["id"].as_str().unwrap();
    exec(
        &owner,
        &format!("UPDATE users SET email = 'moved@premiumauto.com' WHERE id = '{id}'"),
    )
    .await;
    error_of(verify(&app, &token).await, 422).await;
    exec(
        &owner,
        &format!("UPDATE users SET email = '{NEW}' WHERE id = '{id}'"),
    )
    .await;
    exec(&owner, "UPDATE dealerships SET is_active = false").await;
    error_of(verify(&app, &token).await, 422).await;
    exec(&owner, "UPDATE dealerships SET is_active = true").await;
    assert_eq!(verify(&app, &token).await.status(), 204);
}
