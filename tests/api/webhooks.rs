//! Signed webhooks (issue 26): deliveries verified by the independent `standardwebhooks`
//! package, a rotation that signs with both secrets, and no event for a change that rolled
//! back. Receivers listen on 127.0.0.1 only; nothing is sent anywhere else.

pub mod receiver;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, count, exec,
    spawn_app_with,
};
use receiver::{Answer, Receiver, verified_by_standardwebhooks};

pub const WITHIN: Duration = Duration::from_secs(20);

/// Settings for a test that delivers: the sender on, loopback receivers over plain HTTP.
pub fn delivering(s: &mut dealergate::config::Settings) {
    s.webhooks.enabled = true;
    s.webhooks.allow_http = true;
    s.webhooks.allow_loopback = true;
    s.webhooks.poll_interval_secs = 1;
}

pub async fn hook_app() -> TestApp {
    spawn_app_with(delivering).await
}

/// Registers an endpoint at `url` for `types` as `token`: its id and secret.
pub async fn register(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (Uuid, String) {
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/webhooks",
            token,
            json!({"url": url, "event_types": types}),
        )
        .await;
    assert_eq!(resp.status(), 201, "the endpoint is registered");
    let body: Value = resp.json().await.unwrap();
    let id = body["id"].as_str().unwrap().parse().unwrap();
    (id, body["secret"].as_str().unwrap().to_owned())
}

/// A change that emits `user.updated` in the agent's dealership.
pub async fn rename(app: &TestApp, token: &str, user: Uuid, name: &str) {
    let resp = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/users/{user}"),
            token,
            json!({"first_name": name}),
        )
        .await;
    assert_eq!(resp.status(), 200, "renamed");
}

#[tokio::test]
async fn deliveries_are_signed_per_standard_webhooks_and_carry_no_other_tenants_events() {
    let app = hook_app().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let mm = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await
        .access;
    let types = ["user.created", "user.updated"];
    let (id, secret) = register(&app, &pa, &receiver.url, &types).await;
    assert!(secret.starts_with("whsec_"));

    // Metro Motors' change first: it must never reach Premium Auto's endpoint
    rename(&app, &mm, MM_AGENT.id, "Elsewhere").await;
    let hire = app
        .create_user(&pa, "hooked@premiumauto.com", "a fine passphrase", "agent")
        .await;
    rename(&app, &pa, PA_AGENT.id, "Hooked").await;
    let got = receiver.wait_for(2, WITHIN).await;
    assert!(
        verified_by_standardwebhooks(&secret, &got),
        "standardwebhooks verifies them"
    );

    let mut events: Vec<Value> = got.iter().map(|d| d.json()).collect();
    events.sort_by_key(|e| e["sequence"].as_i64());
    assert_eq!(
        events.len(),
        2,
        "only Premium Auto's two changes: {events:?}"
    );
    assert_eq!(events[0]["type"], "user.created");
    assert_eq!(events[0]["sequence"], 1);
    assert_eq!(events[0]["data"]["target_id"], hire["id"]);
    assert_eq!(events[1]["type"], "user.updated");
    assert_eq!(events[1]["sequence"], 2);
    assert_eq!(events[1]["data"]["target_id"], PA_AGENT.id.to_string());
    for event in &events {
        assert_eq!(event["data"]["dealership_id"], PREMIUM_AUTO.to_string());
        assert!(event["committed_at"].is_string() && event["timestamp"].is_string());
        assert!(
            event["data"].get("changes").is_none(),
            "ids only, never what changed"
        );
    }
    for delivery in &got {
        assert!(Uuid::parse_str(delivery.header("webhook-id")).is_ok());
        assert!(!delivery.body.contains("whsec_") && !delivery.body.contains("passphrase"));
        assert_eq!(delivery.header("webhook-signature").split(' ').count(), 1);
    }

    // the log shows each attempt
    // an attempt is logged after its answer came back: wait for the second one's row
    let log = wait_for_log(&app, &pa, id, 2).await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d["status"] == 204 && d["attempt"] == 1));

    // Metro Motors' principal does not see Premium Auto's endpoint
    let theirs = app.get_as(&format!("/api/v1/webhooks/{id}"), &mm).await;
    assert_eq!(theirs.status(), 404);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_and_either_verifies() {
    let app = hook_app().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (id, old) = register(&app, &pa, &receiver.url, &["user.updated"]).await;
    let rotated = app
        .post_as(&format!("/api/v1/webhooks/{id}/secret"), &pa)
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_valid_until"].is_string());

    rename(&app, &pa, PA_AGENT.id, "Rotated").await;
    let got = receiver.wait_for(1, WITHIN).await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert!(
        verified_by_standardwebhooks(&new, &got),
        "the new secret verifies"
    );
    assert!(
        verified_by_standardwebhooks(&old, &got),
        "the old secret verifies"
    );
    assert!(!verified_by_standardwebhooks(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &got
    ));
}

#[tokio::test]
async fn a_rolled_back_change_sends_nothing() {
    let app = hook_app().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    register(&app, &pa, &receiver.url, &["user.updated"]).await;

    // a change audited as the runtime role in its tenant transaction, then rolled back: the
    // trigger wrote its event, and the rollback takes both away
    let owner = app.db.owner().await;
    exec(&owner, "BEGIN").await;
    exec(
        &owner,
        &format!(
            "SELECT set_config('role', 'dealergate_app', true), \
                    set_config('app.dealership_ids', '{{{PREMIUM_AUTO}}}', true)"
        ),
    )
    .await;
    exec(
        &owner,
        &format!(
            "INSERT INTO audit_events (dealership_id, action, target_type, target_id, changes) \
             VALUES ('{PREMIUM_AUTO}', 'user.updated', 'user', '{}', \
                     '{{\"first_name\": {{\"before\": \"a\", \"after\": \"b\"}}}}')",
            PA_AGENT.id
        ),
    )
    .await;
    let queued = count(&owner, "SELECT count(*) AS n FROM webhook_events").await;
    assert_eq!(queued, 1, "the event is queued in the change's transaction");
    exec(&owner, "ROLLBACK").await;

    // a committed change afterwards is delivered, and is the first and only one
    rename(&app, &pa, PA_AGENT.id, "Committed").await;
    let got = receiver.wait_for(1, WITHIN).await;
    assert_eq!(
        got[0].json()["sequence"],
        1,
        "the rolled-back event took no number"
    );
    assert_eq!(got[0].json()["data"]["action"], "user.updated");
    let events = count(&owner, "SELECT count(*) AS n FROM webhook_events").await;
    assert_eq!(events, 1);
}

pub async fn deliveries(app: &crate::helpers::TestApp, token: &str, id: Uuid) -> Vec<Value> {
    app.get_as(&format!("/api/v1/webhooks/{id}/deliveries"), token)
        .await
        .json()
        .await
        .unwrap()
}

/// Polls the endpoint's log until it has `n` attempts.
pub async fn wait_for_log(
    app: &crate::helpers::TestApp,
    token: &str,
    id: Uuid,
    n: usize,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        let log = deliveries(app, token, id).await;
        if log.len() >= n {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} attempts not logged: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
