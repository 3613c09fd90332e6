//! Webhook order under a burst (issue 26, "Load and faults"): every change of a burst reaches
//! the endpoint, numbered without gap or repeat in the order the changes committed, while two
//! replicas deliver. Receivers listen on 127.0.0.1 only.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{
    helpers::{PA_AGENT, PA_PRINCIPAL},
    webhooks::{
        WITHIN, hook_app,
        receiver::{Answer, Receiver},
        register, rename,
    },
};

const BURST: usize = 200;

#[tokio::test]
async fn a_burst_of_changes_arrives_complete_and_numbered_in_commit_order() {
    let app = hook_app().await;
    let replica = app.spawn_replica().await;
    let receiver = Receiver::start(Answer::Ok).await;
    let pa = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    register(&app, &pa, &receiver.url, &["user.updated"]).await;
    // one change after another, each committed before the next is sent
    for i in 0..BURST {
        rename(&app, &pa, PA_AGENT.id, &format!("Burst {i}")).await;
    }
    let within = WITHIN * 3;
    let deadline = std::time::Instant::now() + within;
    // at least once: a repeat shares its webhook-id, so count distinct ids
    let events = loop {
        let by_id: BTreeMap<String, serde_json::Value> = receiver
            .received()
            .iter()
            .map(|d| (d.header("webhook-id").to_owned(), d.json()))
            .collect();
        if by_id.len() >= BURST {
            break by_id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {BURST} delivered",
            by_id.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut by_sequence: Vec<(i64, Uuid)> = events
        .values()
        .map(|e| {
            let audit = e["data"]["audit_event_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (e["sequence"].as_i64().unwrap(), audit)
        })
        .collect();
    by_sequence.sort();
    let numbers: Vec<i64> = by_sequence.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=BURST as i64).collect::<Vec<_>>(),
        "no gap, no repeat"
    );

    // the audit rows in the order their changes committed (one after another: their order of
    // time), against the order of the sequence
    let owner = app.db.owner().await;
    let committed: Vec<Uuid> = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id FROM audit_events WHERE action = 'user.updated' ORDER BY at, id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id").unwrap())
        .collect();
    let delivered: Vec<Uuid> = by_sequence.iter().map(|(_, id)| *id).collect();
    assert_eq!(delivered, committed);
    drop(replica);
}
