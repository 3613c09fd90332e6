//! Password reset: no enumeration, a single-use link, every session ended, refused after use,
//! expiry, another password change, deactivation or suspension; throttled; audited.

use std::time::{Duration, Instant};

use dealergate::config::Secret;
use serde_json::json;

use crate::helpers::{
    ADMIN, PA_AGENT, PREMIUM_AUTO, TestApp, count, error_of, exec,
    smtp::{SmtpServer, mailing_app},
    spawn_app_with,
};

const REQUEST: &str = "/api/v1/auth/password-reset";
const CONFIRM: &str = "/api/v1/auth/password-reset/confirm";
const NEW_PASSWORD: &str = "a brand new passphrase";

struct Mailbox {
    app: TestApp,
    smtp: SmtpServer,
}

async fn spawn() -> Mailbox {
    let (app, smtp) = mailing_app(|_| {}).await;
    Mailbox { app, smtp }
}

impl Mailbox {
    /// Asks for a reset of `email` and returns the token of the `nth` (1-based) message to it.
    async fn reset_token(&self, email: &str, nth: usize) -> String {
        let resp = self.app.post_json(REQUEST, json!({"email": email})).await;
        assert_eq!(resp.status(), 202);
        let mails = self
            .smtp
            .wait_for(email, nth, Duration::from_secs(10))
            .await;
        mails[nth - 1].token()
    }

    async fn confirm(&self, token: &str, password: &str) -> reqwest::Response {
        self.app
            .post_json(CONFIRM, json!({"token": token, "new_password": password}))
            .await
    }
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_in_similar_time() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let mut times = [Vec::new(), Vec::new()];
    let mut bodies = Vec::new();
    for round in 0..4 {
        for (i, email) in [PA_AGENT.email, "nobody@premiumauto.com"]
            .iter()
            .enumerate()
        {
            let started = Instant::now();
            let resp = app.post_json(REQUEST, json!({"email": email})).await;
            times[i].push(started.elapsed());
            assert_eq!(resp.status(), 202, "{email} round {round}");
            bodies.push(resp.text().await.unwrap());
        }
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let (known, unknown) = (median(&mut times[0]), median(&mut times[1]));
    let gap = known.abs_diff(unknown);
    assert!(
        gap < Duration::from_millis(40),
        "known {known:?}, unknown {unknown:?}"
    );
    mailbox
        .smtp
        .wait_for(PA_AGENT.email, 4, Duration::from_secs(10))
        .await;
    let to_unknown = mailbox
        .smtp
        .received()
        .iter()
        .filter(|m| m.to[0].starts_with("nobody"))
        .count();
    assert_eq!(to_unknown, 0);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let before = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let token = mailbox.reset_token(PA_AGENT.email, 1).await;

    let resp = mailbox.confirm(&token, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &before.access).await.status(),
        401
    );
    assert_eq!(app.refresh(&before.refresh).await.status(), 401);
    assert_eq!(
        app.login(PA_AGENT.email, PA_AGENT.password).await.status(),
        401
    );
    app.login_ok(PA_AGENT.email, NEW_PASSWORD).await;

    let again = mailbox.confirm(&token, "yet another passphrase").await;
    let body = error_of(again, 422).await;
    assert_eq!(body["details"][0]["field"], "token");

    let notice = &mailbox
        .smtp
        .wait_for(PA_AGENT.email, 2, Duration::from_secs(10))
        .await[1];
    assert_eq!(
        notice.header("Subject").as_deref(),
        Some("Your Premium Auto password was changed")
    );
    let owner = app.db.owner().await;
    for action in ["user.password_reset_requested", "user.password_reset"] {
        let sql = format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
             AND target_id = '{}' AND dealership_id = '{PREMIUM_AUTO}'",
            PA_AGENT.id
        );
        assert_eq!(count(&owner, &sql).await, 1, "{action}");
    }
}

#[tokio::test]
async fn two_confirmations_of_one_token_at_once_succeed_exactly_once() {
    let mailbox = spawn().await;
    let token = mailbox.reset_token(PA_AGENT.email, 1).await;
    const OTHER_PASSWORD: &str = "the other passphrase";
    let (a, b) = tokio::join!(
        mailbox.confirm(&token, NEW_PASSWORD),
        mailbox.confirm(&token, OTHER_PASSWORD)
    );
    let (won, lost, refused) = match (a.status().as_u16(), b.status().as_u16()) {
        (204, 422) => (NEW_PASSWORD, OTHER_PASSWORD, b),
        (422, 204) => (OTHER_PASSWORD, NEW_PASSWORD, a),
        other => panic!("one 204 and one 422, not {other:?}"),
    };
    assert_eq!(error_of(refused, 422).await["details"][0]["field"], "token");
    // the password of the 204 answer is the one stored, and only it signs in
    let app = &mailbox.app;
    let signed_in = app.login_ok(PA_AGENT.email, won).await;
    assert_eq!(signed_in.body["user"]["id"], PA_AGENT.id.to_string());
    for refused in [lost, PA_AGENT.password] {
        error_of(app.login(PA_AGENT.email, refused).await, 401).await;
    }
    let resets = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.password_reset' \
         AND target_id = '{}'",
        PA_AGENT.id
    );
    assert_eq!(count(&app.db.owner().await, &resets).await, 1, "one reset");
}

#[tokio::test]
async fn a_token_is_refused_after_expiry_after_a_newer_request_and_after_a_password_change() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;

    let expired = mailbox.reset_token(PA_AGENT.email, 1).await;
    exec(
        &owner,
        "UPDATE account_tokens SET expires_at = now() - interval '1 second'",
    )
    .await;
    error_of(mailbox.confirm(&expired, NEW_PASSWORD).await, 422).await;

    let older = mailbox.reset_token(PA_AGENT.email, 2).await;
    let newer = mailbox.reset_token(PA_AGENT.email, 3).await;
    error_of(mailbox.confirm(&older, NEW_PASSWORD).await, 422).await;

    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let changed = app
        .as_user(reqwest::Method::POST, "/api/v1/auth/password", &me.access)
        .json(&json!({"current_password": PA_AGENT.password, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    error_of(mailbox.confirm(&newer, "the other passphrase").await, 422).await;
    app.login_ok(PA_AGENT.email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn inactive_users_and_suspended_dealerships_cannot_reset() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let token = mailbox.reset_token(PA_AGENT.email, 1).await;
    exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = false WHERE id = '{PREMIUM_AUTO}'"),
    )
    .await;
    error_of(mailbox.confirm(&token, NEW_PASSWORD).await, 422).await;

    let resp = app
        .post_json(REQUEST, json!({"email": PA_AGENT.email}))
        .await;
    assert_eq!(resp.status(), 202, "the same answer");
    exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = true WHERE id = '{PREMIUM_AUTO}'"),
    )
    .await;
    exec(
        &owner,
        &format!(
            "UPDATE users SET is_active = false WHERE id = '{}'",
            PA_AGENT.id
        ),
    )
    .await;
    let resp = app
        .post_json(REQUEST, json!({"email": PA_AGENT.email}))
        .await;
    assert_eq!(resp.status(), 202, "the same answer");
    let queued = "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'password_reset'";
    assert_eq!(
        count(&owner, queued).await,
        1,
        "only the first request queued a link"
    );
    let refused = "SELECT count(*) AS n FROM audit_events \
                   WHERE action = 'user.password_reset_requested' AND changes->>'outcome' = 'inactive'";
    assert_eq!(count(&owner, refused).await, 2);
}

#[tokio::test]
async fn a_platform_admin_resets_too_and_the_password_policy_applies() {
    let mailbox = spawn().await;
    let token = mailbox.reset_token(ADMIN.email, 1).await;
    let weak = error_of(mailbox.confirm(&token, "password").await, 422).await;
    assert_eq!(weak["details"][0]["field"], "new_password");
    let mine = error_of(mailbox.confirm(&token, ADMIN.email).await, 422).await;
    assert_eq!(mine["details"][0]["field"], "new_password");
    assert_eq!(mailbox.confirm(&token, NEW_PASSWORD).await.status(), 204);
    mailbox.app.login_ok(ADMIN.email, NEW_PASSWORD).await;
    let notice = &mailbox
        .smtp
        .wait_for(ADMIN.email, 2, Duration::from_secs(10))
        .await[1];
    assert_eq!(
        notice.header("Subject").as_deref(),
        Some("Your password was changed")
    );
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_and_per_client_ip() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(Secret::new(url));
        s.auth.lockout.account_max_failures = 3;
        s.auth.lockout.ip_max_failures = 6;
    })
    .await;
    for email in [PA_AGENT.email, "nobody@premiumauto.com"] {
        for _ in 0..3 {
            let resp = app.post_json(REQUEST, json!({"email": email})).await;
            assert_eq!(resp.status(), 202);
        }
        let locked = app.post_json(REQUEST, json!({"email": email})).await;
        assert!(locked.headers().get("retry-after").is_some());
        let body = error_of(locked, 429).await;
        assert_eq!(body["type"], "rate_limited");
    }
    // six requests from one address so far: every further address is refused too
    let other = app
        .post_json(REQUEST, json!({"email": "third@premiumauto.com"}))
        .await;
    error_of(other, 429).await;
    // logins have counters of their own
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn malformed_requests_are_refused_and_never_500() {
    let mailbox = spawn().await;
    let app = &mailbox.app;
    for (path, body) in [
        (REQUEST, json!({"email": "not an address"})),
        (REQUEST, json!({"email": 42})),
        (REQUEST, json!({})),
        (CONFIRM, json!({"token": "x", "new_password": NEW_PASSWORD})),
        (
            CONFIRM,
            json!({"token": format!("{}.{}", uuid::Uuid::new_v4(), "A".repeat(43)), "new_password": NEW_PASSWORD}),
        ),
        (CONFIRM, json!({"new_password": NEW_PASSWORD})),
    ] {
        let resp = app.post_json(path, body.clone()).await;
        assert_eq!(resp.status(), 422, "{path} {body}");
    }
    let nul = json!({"token": "\u{0}".repeat(5000), "new_password": NEW_PASSWORD});
    error_of(app.post_json(CONFIRM, nul).await, 400).await;
}
