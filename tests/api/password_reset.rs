//! Password reset: no enumeration, a single-use link, every session ended, refused after use,
//! expiry, another password change, deactivation or suspension; throttled; audited.

use std::time::Duration;

use dealergate::config::Secret;
use serde_json::json;

use crate::helpers::{
    ADMIN, PA_AGENT, PREMIUM_AUTO, TestApp, count, error_of, exec,
    smtp::{SmtpServer, mailing_app},
    spawn_app_with, wait_for_count,
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

/// The answer does the same work for any address and leaves before a known address's link is
/// made: while the test holds a lock that making a link waits for, a known address is answered
/// as at once as an unknown one; the link follows once the lock is let go.
#[tokio::test]
async fn the_answer_leaves_before_any_work_that_a_known_address_costs() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let mailbox = spawn().await;
    let app = &mailbox.app;
    let owner = app.db.owner().await;
    let blocker = owner.begin().await.unwrap();
    // a link's token is a row of account_tokens: inserting one waits while this is held
    blocker
        .execute_unprepared("LOCK TABLE account_tokens IN SHARE MODE")
        .await
        .unwrap();
    let mut bodies = Vec::new();
    // each known address's work holds a pooled connection while it waits: two, of the test pool's five
    for round in 0..2 {
        for email in [PA_AGENT.email, "nobody@premiumauto.com"] {
            let sent = app.post_json(REQUEST, json!({"email": email}));
            let resp = tokio::time::timeout(Duration::from_secs(5), sent)
                .await
                .unwrap_or_else(|_| panic!("{email} (round {round}) waited for the link's work"));
            assert_eq!(resp.status(), 202, "{email} round {round}");
            bodies.push(resp.text().await.unwrap());
        }
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let queued = "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'password_reset'";
    let looking = app.db.owner().await;
    assert_eq!(
        count(&looking, queued).await,
        0,
        "no link while the lock is held"
    );
    blocker.rollback().await.unwrap();
    mailbox
        .smtp
        .wait_for(PA_AGENT.email, 2, Duration::from_secs(10))
        .await;
    let to_unknown = mailbox
        .smtp
        .received()
        .iter()
        .filter(|m| m.to[0].starts_with("nobody"))
        .count();
    assert_eq!(to_unknown, 0);
}

/// Thirty requests for one address at once queue exactly the limit's worth of links: the
/// throttle counts and checks in one statement.
#[tokio::test]
async fn a_burst_of_requests_queues_no_more_links_than_the_limit() {
    let app = spawn_app_with(|s| s.auth.lockout.account_max_failures = 5).await;
    let answers = futures_util::future::join_all(
        (0..30).map(|_| app.post_json(REQUEST, json!({"email": PA_AGENT.email}))),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        25,
        "{statuses:?}"
    );
    let owner = app.db.owner().await;
    let requested = "SELECT count(*) AS n FROM audit_events \
                     WHERE action = 'user.password_reset_requested'";
    wait_for_count(&owner, requested, 5).await;
    let queued = "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'password_reset'";
    assert_eq!(count(&owner, queued).await, 5);
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
    // the request's work happens after its answer: let it see the suspended dealership
    let refused = "SELECT count(*) AS n FROM audit_events \
                   WHERE action = 'user.password_reset_requested' AND changes->>'outcome' = 'inactive'";
    wait_for_count(&owner, refused, 1).await;
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
    wait_for_count(&owner, refused, 2).await;
    let queued = "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'password_reset'";
    assert_eq!(
        count(&owner, queued).await,
        1,
        "only the first request queued a link"
    );
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
