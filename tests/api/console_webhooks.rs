//! Webhooks at the console: a principal registers an endpoint (the secret shown once, the
//! API's field errors beside their fields), sees its recent deliveries, redelivers one and
//! disables it; a manager is refused. Receivers listen on 127.0.0.1 only.

use crate::{
    helpers::{PA_AGENT, PA_MANAGER, PA_PRINCIPAL, console::Console},
    webhooks::{
        WITHIN, hook_app,
        receiver::{Answer, Receiver},
        rename,
    },
};

#[tokio::test]
async fn a_principal_registers_watches_redelivers_and_disables_a_webhook_at_the_console() {
    let app = hook_app().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let mut console = Console::signed_in(&app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    console.get("/console/webhooks").await;

    // the API's words beside the fields
    let refused = console
        .post("/console/webhooks", &[("url", "ftp://dms.example.com/in")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.shows("Must be an https:// URL"), "{}", refused.body);
    assert!(refused.shows("Must name at least one event type"));

    let made = console
        .post(
            "/console/webhooks",
            &[("url", &receiver.url), ("event_type", "user.updated")],
        )
        .await;
    assert_eq!(made.status, 200);
    assert!(made.body.contains("whsec_"), "the secret is shown once");
    let again = console.get("/console/webhooks").await;
    assert!(again.shows(&receiver.url) && !again.body.contains("whsec_"));

    rename(
        &app,
        &app.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
            .await
            .access,
        PA_AGENT.id,
        "Console",
    )
    .await;
    receiver.wait_for(1, WITHIN).await;
    let id = again
        .body
        .split("/console/webhooks/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the endpoint")
        .to_owned();
    // the attempt is logged just after the receiver answers
    let deadline = std::time::Instant::now() + WITHIN;
    let one = loop {
        let one = console.get(&format!("/console/webhooks/{id}")).await;
        if one.body.contains("/redeliver") {
            break one;
        }
        assert!(std::time::Instant::now() < deadline, "{}", one.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(one.shows("user.updated") && one.body.contains("204"));
    let event = one
        .body
        .split("/events/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a redeliver form")
        .to_owned();
    let queued = console
        .post(
            &format!("/console/webhooks/{id}/events/{event}/redeliver"),
            &[],
        )
        .await;
    assert_eq!(queued.status, 303);
    let got = receiver.wait_for(2, WITHIN).await;
    assert_eq!(got[1].header("webhook-id"), got[0].header("webhook-id"));

    console.get(&format!("/console/webhooks/{id}")).await;
    let disabled = console
        .post(
            &format!("/console/webhooks/{id}/active"),
            &[("enabled", "false")],
        )
        .await;
    let shown = console.follow(&disabled).await;
    assert!(shown.shows("Disabled"));

    let mut manager = Console::signed_in(&app, PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(manager.get("/console/webhooks").await.status, 403);
}
