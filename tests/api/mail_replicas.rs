//! The sender on several replicas: each message is claimed by one of them and sent once, and a
//! stopping replica finishes cleanly, leaving what it did not send to the others.

use std::time::Duration;

use dealergate::{
    config::Secret,
    testing::{Scope, outbox},
};

use crate::helpers::{
    PREMIUM_AUTO, count,
    smtp::{SmtpServer, notice},
    spawn_app_with,
};

#[tokio::test]
async fn two_replicas_send_every_message_exactly_once() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    // a send that stalls on a loaded machine is retried soon (not after the default 15 s)
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(Secret::new(url));
        s.mail.send_timeout_secs = 3;
    })
    .await;
    let replica = app.spawn_replica().await;
    // one transaction, one NOTIFY: both senders wake and race for the same rows
    let tx = app
        .state
        .db
        .begin(Scope::Dealership(PREMIUM_AUTO))
        .await
        .unwrap();
    for i in 0..30 {
        outbox::enqueue(&tx, notice(&app, &format!("staff-{i}@premiumauto.com")))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    for i in 0..30 {
        smtp.wait_for(
            &format!("staff-{i}@premiumauto.com"),
            1,
            // a stalled send times out (3 s), is retried after the first backoff, and a batch
            // whose bookkeeping failed waits out its lease (12 s): slow, never lost or doubled
            Duration::from_secs(60),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 30, "no message twice");
    let owner = app.db.owner().await;
    let sent = "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL";
    assert_eq!(count(&owner, sent).await, 30);
    drop(replica);
}

#[tokio::test]
async fn a_stopped_replica_stops_its_sender_and_leaves_the_queue_to_the_others() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let mut app = spawn_app_with(|s| s.mail.smtp_url = Some(Secret::new(url))).await;
    let replica = app.spawn_replica().await;
    app.stop().await.expect("a clean stop");
    let tx = replica
        .state
        .db
        .begin(Scope::Dealership(PREMIUM_AUTO))
        .await
        .unwrap();
    outbox::enqueue(&tx, notice(&replica, "after-stop@premiumauto.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    smtp.wait_for("after-stop@premiumauto.com", 1, Duration::from_secs(10))
        .await;
}
