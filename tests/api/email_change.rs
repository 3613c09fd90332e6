//! Changing one's own email: asked for with the current password, it takes effect only when the
//! new mailbox confirms; the old address is told; the link is single-use, expires, dies with a
//! newer request or a password change; a taken address is refused at confirmation without
//! being revealed before; messages to one address are throttled. An administrator's change
//! starts the new address unverified and mails it a verification link.

use std::time::Duration;

use dealergate::config::Settings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, END_PA_MANAGER_NORTH, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, TestApp, count, error_of,
    exec,
    smtp::{SmtpServer, mailing_app},
};

const REQUEST: &str = "/api/v1/auth/email";
const CONFIRM: &str = "/api/v1/auth/email/confirm";
const NEW: &str = "agent.new@premiumauto.com";

struct Mailbox {
    app: TestApp,
    smtp: SmtpServer,
}

async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Mailbox {
    let (app, smtp) = mailing_app(configure).await;
    Mailbox { app, smtp }
}

async fn spawn() -> Mailbox {
    spawn_with(|_| {}).await
}

impl Mailbox {
    async fn ask(&self, access: &str, new_email: &str, password: &str) -> reqwest::Response {
        self.app
            .as_user(Method::POST, REQUEST, access)
            .json(&json!({"new_email": new_email, "current_password": password}))
            .send()
            .await
            .unwrap()
    }

    /// The agent asks to move to `new_email`; the token of the `nth` (1-based) message to it.
    async fn link_to(&self, access: &str, new_email: &str, nth: usize) -> String {
        let resp = self.ask(access, new_email, PA_AGENT.password).await;
        assert_eq!(resp.status(), 202);
        let mails = self
            .smtp
            .wait_for(new_email, nth, Duration::from_secs(10))
            .await;
        mails[nth - 1].token()
    }

    async fn confirm(&self, token: &str) -> reqwest::Response {
        self.app.post_json(CONFIRM, json!({"token": token})).await
    }
}

async fn email_of(app: &TestApp, access: &str) -> String {
    let me: Value = app
        .get_as("/api/v1/auth/me", access)
        .await
        .json()
        .await
        .unwrap();
    me["email"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_email_change_takes_effect_only_when_the_new_mailbox_confirms_it() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let asking = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let other = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;

    let token = mailbox
        .link_to(&asking.access, "Agent.New@PremiumAuto.com", 1)
        .await;
    let confirmation = &mailbox.smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0];
    assert_eq!(
        confirmation.header("Subject").as_deref(),
        Some("Confirm the new email address of your Premium Auto account")
    );
    assert!(
        confirmation
            .text()
            .contains("https://app.example.test/console/confirm-email?token=")
    );
    let notice = &mailbox
        .smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    assert!(notice.text().contains(NEW), "the old address is told where");
    assert!(!notice.text().contains("token="), "and given no link");

    // nothing has changed yet
    assert_eq!(email_of(app, &asking.access).await, PA_AGENT.email);
    error_of(app.login(NEW, PA_AGENT.password).await, 401).await;

    assert_eq!(mailbox.confirm(&token).await.status(), 204);
    let signed_in = app.login_ok(NEW, PA_AGENT.password).await;
    assert_eq!(signed_in.body["user"]["email"], NEW);
    assert_eq!(signed_in.body["user"]["email_verified"], true);
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 401).await;
    // every outstanding access token ends; the asking session refreshes, the other is over
    error_of(app.get_as("/api/v1/auth/me", &asking.access).await, 401).await;
    let refreshed = app.refresh_ok(&asking.refresh).await;
    assert_eq!(email_of(app, &refreshed.access).await, NEW);
    error_of(app.refresh(&other.refresh).await, 401).await;

    let again = error_of(mailbox.confirm(&token).await, 422).await;
    assert_eq!(again["details"][0]["field"], "token");
    let owner = app.db.owner().await;
    for action in ["user.email_change_requested", "user.email_changed"] {
        let audited = format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
             AND target_id = '{}' AND actor_id = '{}'",
            PA_AGENT.id, PA_AGENT.id
        );
        assert_eq!(count(&owner, &audited).await, 1, "{action}");
    }
}

#[tokio::test]
async fn the_current_password_is_required_and_a_refused_request_sends_nothing() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    for (body, field) in [
        (
            json!({"new_email": NEW, "current_password": "not it at all"}),
            "current_password",
        ),
        (
            json!({"new_email": "not an address", "current_password": PA_AGENT.password}),
            "new_email",
        ),
        (
            json!({"new_email": "AGENT@premiumauto.com", "current_password": PA_AGENT.password}),
            "new_email",
        ),
    ] {
        let resp = app
            .as_user(Method::POST, REQUEST, &me.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(resp, 422).await["details"][0]["field"],
            field,
            "{body}"
        );
    }
    let missing = app
        .as_user(Method::POST, REQUEST, &me.access)
        .json(&json!({"new_email": NEW}))
        .send()
        .await
        .unwrap();
    error_of(missing, 422).await;
    let anonymous = app
        .post_json(
            REQUEST,
            json!({"new_email": NEW, "current_password": PA_AGENT.password}),
        )
        .await;
    error_of(anonymous, 401).await;
    let owner = app.db.owner().await;
    let queued = "SELECT count(*) AS n FROM mail_outbox";
    assert_eq!(count(&owner, queued).await, 0);
    let tokens = "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'email_change'";
    assert_eq!(count(&owner, tokens).await, 0);
}

#[tokio::test]
async fn a_taken_address_is_not_revealed_on_request_and_refused_on_confirmation() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let free = mailbox.ask(&me.access, NEW, PA_AGENT.password).await;
    let taken = mailbox
        .ask(&me.access, PA_MANAGER.email, PA_AGENT.password)
        .await;
    assert_eq!(
        (free.status().as_u16(), taken.status().as_u16()),
        (202, 202)
    );
    let (free, taken): (Value, Value) = (free.json().await.unwrap(), taken.json().await.unwrap());
    assert_eq!(
        free, taken,
        "the same answer for a free and a taken address"
    );

    let token = mailbox
        .smtp
        .wait_for(PA_MANAGER.email, 1, Duration::from_secs(10))
        .await[0]
        .token();
    let conflict = error_of(mailbox.confirm(&token).await, 409).await;
    assert_eq!(conflict["type"], "conflict");
    assert_eq!(email_of(app, &me.access).await, PA_AGENT.email, "unchanged");

    // once the address is free again, the same link works: the person goes with their last
    // membership (Mark manages Premium Auto North too, which ends first)
    exec(&app.db.owner().await, END_PA_MANAGER_NORTH).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let deleted = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/users/{}", PA_MANAGER.id),
            &principal.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(mailbox.confirm(&token).await.status(), 204);
    app.login_ok(PA_MANAGER.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn a_link_dies_with_expiry_a_newer_request_a_password_change_and_deactivation() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;

    let expired = mailbox.link_to(&me.access, NEW, 1).await;
    exec(
        &owner,
        "UPDATE account_tokens SET expires_at = now() - interval '1 second'",
    )
    .await;
    error_of(mailbox.confirm(&expired).await, 422).await;

    let older = mailbox.link_to(&me.access, NEW, 2).await;
    let newer = mailbox.link_to(&me.access, NEW, 3).await;
    error_of(mailbox.confirm(&older).await, 422).await;

    // an intruder's pending change ends when the owner changes the password
    let changed = app
        .as_user(Method::POST, "/api/v1/auth/password", &me.access)
        .json(&json!({"current_password": PA_AGENT.password, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    error_of(mailbox.confirm(&newer).await, 422).await;

    let me = app.login_ok(PA_AGENT.email, "a brand new passphrase").await;
    let resp = mailbox.ask(&me.access, NEW, "a brand new passphrase").await;
    assert_eq!(resp.status(), 202);
    let last = mailbox.smtp.wait_for(NEW, 4, Duration::from_secs(10)).await[3].token();
    exec(
        &owner,
        &format!(
            "UPDATE users SET is_active = false WHERE id = '{}'",
            PA_AGENT.id
        ),
    )
    .await;
    error_of(mailbox.confirm(&last).await, 422).await;
    exec(
        &owner,
        &format!(
            "UPDATE users SET is_active = true WHERE id = '{}'",
            PA_AGENT.id
        ),
    )
    .await;
    assert_eq!(mailbox.confirm(&last).await.status(), 204, "live again");
}

#[tokio::test]
async fn two_confirmations_of_one_link_at_once_succeed_exactly_once() {
    let mailbox = spawn().await;
    let me = mailbox
        .app
        .login_ok(PA_AGENT.email, PA_AGENT.password)
        .await;
    let token = mailbox.link_to(&me.access, NEW, 1).await;
    let (a, b) = tokio::join!(mailbox.confirm(&token), mailbox.confirm(&token));
    let refused = match (a.status().as_u16(), b.status().as_u16()) {
        (204, 422) => b,
        (422, 204) => a,
        other => panic!("one 204 and one 422, not {other:?}"),
    };
    assert_eq!(error_of(refused, 422).await["details"][0]["field"], "token");
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let changed = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.email_changed' \
         AND target_id = '{}'",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &changed).await, 1, "changed once");
    let stored = format!(
        "SELECT count(*) AS n FROM users WHERE id = '{}' AND email = '{NEW}'",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &stored).await, 1, "the new address is stored");
    assert_eq!(
        app.login_ok(NEW, PA_AGENT.password).await.body["user"]["id"],
        PA_AGENT.id.to_string()
    );
}

#[tokio::test]
async fn messages_to_one_new_address_are_throttled() {
    let mailbox = spawn_with(|s| {
        s.auth.lockout.account_max_failures = 3;
        s.auth.lockout.ip_max_failures = 100;
    })
    .await;
    let app = &mailbox.app;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    for _ in 0..3 {
        let resp = mailbox.ask(&me.access, NEW, PA_AGENT.password).await;
        assert_eq!(resp.status(), 202);
    }
    let flooded = mailbox.ask(&me.access, NEW, PA_AGENT.password).await;
    assert!(flooded.headers().get("retry-after").is_some());
    error_of(flooded, 429).await;
    let elsewhere = mailbox
        .ask(
            &me.access,
            "someone.else@premiumauto.com",
            PA_AGENT.password,
        )
        .await;
    assert_eq!(elsewhere.status(), 202, "other addresses are not held up");
    // the account itself is not locked by its own mail
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn an_administrators_change_starts_the_address_unverified_and_mails_a_verification() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    // a reset link mailed to the old address
    let reset = app
        .post_json(
            "/api/v1/auth/password-reset",
            json!({"email": PA_AGENT.email}),
        )
        .await;
    assert_eq!(reset.status(), 202);
    let reset_token = mailbox
        .smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0]
        .token();

    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let resp = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", PA_AGENT.id),
            &admin.access,
        )
        .json(&json!({"email": NEW}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(
        (user["email"].as_str(), user["email_verified"].as_bool()),
        (Some(NEW), Some(false))
    );

    let verification = &mailbox.smtp.wait_for(NEW, 1, Duration::from_secs(10)).await[0];
    assert!(verification.text().contains("/verify-email?token="));
    let confirmed = app
        .post_json(
            "/api/v1/auth/verify-email",
            json!({"token": verification.token()}),
        )
        .await;
    assert_eq!(confirmed.status(), 204);
    let me = app.login_ok(NEW, PA_AGENT.password).await;
    assert_eq!(me.body["user"]["email_verified"], true);

    let stale = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": reset_token, "new_password": "a brand new passphrase"}),
        )
        .await;
    error_of(stale, 422).await;
    let ended = "SELECT count(*) AS n FROM account_tokens \
                 WHERE purpose = 'password_reset' AND ended_reason = 'email_changed'";
    assert_eq!(count(&owner, ended).await, 1);
}

#[tokio::test]
async fn the_profile_update_no_longer_changes_the_email() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let resp = app
        .as_user(Method::PATCH, "/api/v1/auth/me", &me.access)
        .json(
            &json!({"first_name": "Renamed", "email": NEW, "current_password": PA_AGENT.password}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(
        (user["first_name"].as_str(), user["email"].as_str()),
        (Some("Renamed"), Some(PA_AGENT.email))
    );
}

#[tokio::test]
async fn malformed_confirmations_are_refused_and_never_500() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    for body in [
        json!({"token": "x"}),
        json!({"token": format!("{}.{}", uuid::Uuid::new_v4(), "A".repeat(43))}),
        json!({"token": 42}),
        json!({}),
    ] {
        let resp = app.post_json(CONFIRM, body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
    }
    let nul = json!({"token": "\u{0}".repeat(5000)});
    error_of(app.post_json(CONFIRM, nul).await, 400).await;
}
