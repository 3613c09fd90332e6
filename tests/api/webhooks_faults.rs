//! Webhooks under faults (issue 26, "Load and faults"): a failing receiver is retried with
//! backoff and its endpoint disabled after the configured run of failures, with mail; a
//! receiver that hangs holds back nobody else; the SSRF guard refuses loopback when it is not
//! allowed (the receiver counts no hit); a replica that stops holding a lease loses no event.
//! Receivers listen on 127.0.0.1 only; nothing is sent anywhere else.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{PA_AGENT, PA_PRINCIPAL, count, exec, smtp::mailing_app, spawn_app, spawn_app_with},
    webhooks::{
        WITHIN, deliveries, delivering, hook_app,
        receiver::{Answer, Receiver, verified_by_standardwebhooks},
        register, rename, wait_for_log,
    },
};

#[tokio::test]
async fn a_failing_receiver_is_retried_then_disabled_and_the_principals_are_mailed() {
    let (app, smtp) = mailing_app(|s| {
        delivering(s);
        s.webhooks.retry_schedule_secs = vec![1, 1, 1, 1, 1];
        s.webhooks.jitter_percent = 0;
        s.webhooks.disable_after_failures = 3;
    })
    .await;
    let receiver = Receiver::start(Answer::Fail).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (id, secret) = register(&app, &pa, &receiver.url, &["user.updated"]).await;
    rename(&app, &pa, PA_AGENT.id, "Failing").await;

    let mail = smtp.wait_for(PA_PRINCIPAL.email, 1, WITHIN).await;
    assert!(
        mail[0].text().contains(&receiver.url),
        "the notice names the endpoint"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 3, "three attempts, then disabled");
    assert!(
        got.iter()
            .all(|d| d.header("webhook-id") == got[0].header("webhook-id"))
    );
    assert!(verified_by_standardwebhooks(&secret, &got[2..]));
    let stamps: Vec<i64> = got
        .iter()
        .map(|d| d.header("webhook-timestamp").parse().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "each retry waits: {stamps:?}"
    );

    let endpoint: Value = app
        .get_as(&format!("/api/v1/webhooks/{id}"), &pa)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(endpoint["enabled"], false);
    assert_eq!(
        endpoint["disabled_reason"],
        "3 consecutive failed deliveries"
    );
    let log = deliveries(&app, &pa, id).await;
    let attempts: Vec<i64> = log.iter().map(|d| d["attempt"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [3, 2, 1]);
    assert!(log.iter().all(|d| d["status"] == 500));
    let owner = app.db.owner().await;
    let audited = "SELECT count(*) AS n FROM audit_events WHERE action = 'webhook.disabled'";
    assert_eq!(count(&owner, audited).await, 1);

    // enabled again, the receiver mended: the same event arrives, with the same id
    receiver.answer(Answer::Ok);
    let enabled = app
        .send_as(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &pa,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(enabled.status(), 200);
    let got = receiver.wait_for(4, WITHIN).await;
    assert_eq!(got[3].header("webhook-id"), got[0].header("webhook-id"));
}

#[tokio::test]
async fn a_hanging_receiver_holds_back_no_other_endpoint() {
    let app = spawn_app_with(|s| {
        delivering(s);
        s.webhooks.timeout_secs = 2;
    })
    .await;
    let hanging = Receiver::start(Answer::Hang).await;
    let healthy = Receiver::start(Answer::Ok).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (stuck, _) = register(&app, &pa, &hanging.url, &["user.updated"]).await;
    register(&app, &pa, &healthy.url, &["user.updated"]).await;
    for i in 0..5 {
        rename(&app, &pa, PA_AGENT.id, &format!("Busy {i}")).await;
    }
    healthy.wait_for(5, WITHIN).await;
    assert_eq!(app.get_as("/api/v1/auth/me", &pa).await.status(), 200);

    // the hung attempts end at the timeout, logged without a status, and are retried later
    let log = wait_for_log(&app, &pa, stuck, 1).await;
    assert!(log[0]["status"].is_null());
    assert!(log[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn the_ssrf_guard_refuses_loopback_when_it_is_not_allowed() {
    let mut lenient = spawn_app_with(delivering).await;
    let receiver = Receiver::start(Answer::Ok).await;
    let guarded = |s: &mut dealergate::config::Settings| {
        delivering(s);
        s.webhooks.allow_loopback = false;
    };
    let strict = lenient.spawn_replica_with(guarded).await;
    let pa = strict
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;

    // refused at registration, in every spelling of loopback
    let port = receiver
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/hooks");
    for url in [
        receiver.url.clone(),
        format!("http://[::1]:{port}/hooks"),
        format!("http://[::ffff:127.0.0.1]:{port}/hooks"),
        format!("http://2130706433:{port}/hooks"),
        format!("http://127.1:{port}/hooks"),
    ] {
        let resp = strict
            .send_as(
                Method::POST,
                "/api/v1/webhooks",
                &pa,
                json!({"url": url, "event_types": ["user.updated"]}),
            )
            .await;
        assert_eq!(resp.status(), 422, "{url} refused");
    }

    // registered where loopback was allowed, delivered where it is not: refused at delivery
    let (id, _) = register(&lenient, &pa, &receiver.url, &["user.updated"]).await;
    lenient.stop().await.unwrap();
    rename(&strict, &pa, PA_AGENT.id, "Guarded").await;
    let log = wait_for_log(&strict, &pa, id, 1).await;
    assert!(log[0]["status"].is_null());
    let error = log[0]["error"].as_str().unwrap();
    assert!(
        error.contains("SSRF guard") && error.contains("loopback"),
        "{error}"
    );
    assert_eq!(
        receiver.received().len(),
        0,
        "the receiver was never reached"
    );
}

#[tokio::test]
async fn a_lease_left_by_a_stopped_replica_is_taken_over_and_the_repeat_keeps_its_id() {
    let mut first = hook_app().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let pa = first
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let (_, secret) = register(&first, &pa, &receiver.url, &["user.updated"]).await;
    rename(&first, &pa, PA_AGENT.id, "Leased").await;
    receiver.wait_for(1, WITHIN).await;
    first.stop().await.unwrap();

    // what a replica killed after the receiver got the event leaves behind: the event leased
    // to it (due again when the lease runs out), its delivery never recorded
    let owner = first.db.owner().await;
    exec(
        &owner,
        "UPDATE webhook_events SET delivered_at = NULL, attempts = attempts + 1, \
                next_attempt_at = now() + interval '2 seconds'",
    )
    .await;
    let second = first.spawn_replica().await;
    let got = receiver.wait_for(2, WITHIN).await;
    assert_eq!(got[1].header("webhook-id"), got[0].header("webhook-id"));
    assert_eq!(got[1].json()["sequence"], got[0].json()["sequence"]);
    assert_eq!(got[1].json()["data"], got[0].json()["data"]);
    assert!(verified_by_standardwebhooks(&secret, &got));
    let delivered = "SELECT count(*) AS n FROM webhook_events WHERE delivered_at IS NOT NULL";
    crate::helpers::wait_for_count(&owner, delivered, 1).await;
    drop(second);
}

/// With nothing to deliver, the sender waits its poll interval: the outbox says nothing is due
/// (`NULL`), not "due now". `greatest(NULL, 0)` is 0 in PostgreSQL, which had every replica
/// with webhooks on ask the database again at once, without end (found by bench/run's round
/// trip count: 9 round trips per `GET /auth/me` that sends none).
#[tokio::test]
async fn with_nothing_to_deliver_nothing_is_due() {
    let app = spawn_app().await;
    let pending = dealergate::testing::webhook_outbox::pending(&app.state.db)
        .await
        .unwrap();
    assert_eq!(pending.next_due_secs, None);
    assert!(!pending.unnumbered);
}
