//! The audit export for monitoring tools: NDJSON after a cursor, every event exactly once
//! across resumed requests even when transactions commit out of order, confined to the
//! caller's reach; and the retention purge, the log's only way out.

use std::{collections::HashSet, time::Duration};

use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    ADMIN, METRO_MOTORS, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, connect_single, count,
    error_of, exec, spawn_app, spawn_app_with, wait_for_count,
};

const EXPORT: &str = "/api/v1/audit-events/export";

/// One page: its events and the cursor it answered with.
async fn export(app: &TestApp, token: &str, cursor: &str, limit: u32) -> (Vec<Value>, String) {
    let path = format!("{EXPORT}?limit={limit}&cursor={cursor}");
    let path = if cursor.is_empty() {
        format!("{EXPORT}?limit={limit}")
    } else {
        path
    };
    let resp = app.get_as(&path, token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let next = resp.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let text = resp.text().await.unwrap();
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON event"))
        .collect();
    (events, next)
}

/// Resumes from `cursor` until a page comes back empty; every event seen, in order.
async fn drain(app: &TestApp, token: &str, cursor: &mut String, limit: u32) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let (events, next) = export(app, token, cursor, limit).await;
        *cursor = next;
        if events.is_empty() {
            return seen;
        }
        seen.extend(events);
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_once_each(seen: &[String]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was exported twice");
}

/// An event written as the runtime role in Premium Auto's transaction `tx`.
async fn write_event(tx: &impl ConnectionTrait, id: Uuid) {
    exec(
        tx,
        &format!(
            "SELECT set_config('role', 'dealergate_app', true), \
                    set_config('app.dealership_ids', '{{{PREMIUM_AUTO}}}', true); \
             INSERT INTO audit_events (id, dealership_id, action, target_type) \
             VALUES ('{id}', '{PREMIUM_AUTO}', 'test.late', 'test')"
        ),
    )
    .await;
}

async fn runtime_connection(app: &TestApp) -> DatabaseConnection {
    connect_single(&app.db.login_url()).await
}

#[tokio::test]
async fn an_event_committed_after_a_later_ones_is_exported_once_when_the_cursor_resumes() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let mut cursor = String::new();
    let before = drain(&app, &admin, &mut cursor, 1000).await;

    // the early transaction writes first and stays open; a later one writes and commits
    let (early, late) = (Uuid::now_v7(), Uuid::now_v7());
    let (a, b) = (
        runtime_connection(&app).await,
        runtime_connection(&app).await,
    );
    let held = a.begin().await.unwrap();
    write_event(&held, early).await;
    let quick = b.begin().await.unwrap();
    write_event(&quick, late).await;
    quick.commit().await.unwrap();

    let meanwhile = ids(&drain(&app, &admin, &mut cursor, 1000).await);
    assert!(
        !meanwhile.contains(&early.to_string()) && !meanwhile.contains(&late.to_string()),
        "nothing at or after a running transaction is handed out: {meanwhile:?}"
    );
    held.commit().await.unwrap();

    // other databases' transactions hold the cluster's xmin back for a moment at most
    let mut after = Vec::new();
    for _ in 0..200 {
        after.extend(ids(&drain(&app, &admin, &mut cursor, 1000).await));
        if after.contains(&early.to_string()) && after.contains(&late.to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        after.contains(&early.to_string()),
        "the late commit is exported"
    );
    assert!(after.contains(&late.to_string()));
    let mut all = ids(&before);
    all.extend(meanwhile);
    all.extend(after);
    assert_once_each(&all);
}

#[tokio::test]
async fn small_pages_resume_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!(
            "INSERT INTO audit_events (dealership_id, action, target_type) \
             SELECT '{METRO_MOTORS}', 'test.bulk', 'test' FROM generate_series(1, 23)"
        ),
    )
    .await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let total = count(&owner, "SELECT count(*) AS n FROM audit_events").await as usize;
    let mut cursor = String::new();
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen.extend(ids(&drain(&app, &admin, &mut cursor, 7).await));
        if seen.len() >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_once_each(&seen);
    assert_eq!(seen.len(), total, "every event, once");
}

#[tokio::test]
async fn a_principal_exports_only_their_dealership_and_a_manager_is_refused() {
    let app = spawn_app().await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!(
            "INSERT INTO audit_events (dealership_id, action, target_type) \
             VALUES ('{METRO_MOTORS}', 'test.other', 'test'), ('{PREMIUM_AUTO}', 'test.own', 'test')"
        ),
    )
    .await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let mut cursor = String::new();
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen.extend(drain(&app, &principal, &mut cursor, 1000).await);
        if seen.iter().any(|e| e["action"] == "test.own") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.iter().any(|e| e["action"] == "test.own"));
    assert!(
        seen.iter()
            .all(|e| e["dealership_id"] == PREMIUM_AUTO.to_string()),
        "only Premium Auto's events"
    );

    let manager = app
        .login_ok(PA_MANAGER.email, PA_MANAGER.password)
        .await
        .access;
    error_of(app.get_as(EXPORT, &manager).await, 403).await;
    for bad in ["nonsense", "MTIz", "%2F%2F", "LTEuMA"] {
        let error = error_of(
            app.get_as(&format!("{EXPORT}?cursor={bad}"), &principal)
                .await,
            400,
        )
        .await;
        assert_eq!(error["type"], "bad_request", "{error}");
        assert_eq!(error["details"][0]["field"], "cursor", "{error}");
    }
    let error = error_of(
        app.get_as(&format!("{EXPORT}?limit=0"), &principal).await,
        422,
    )
    .await;
    assert_eq!(error["details"][0]["field"], "limit", "{error}");
}

#[tokio::test]
async fn the_runtime_role_cannot_change_or_delete_audit_events_or_purge_them() {
    let app = spawn_app().await;
    let runtime = runtime_connection(&app).await;
    for statement in [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
        "SELECT audit_events_purge(now(), 10)",
    ] {
        let tx = runtime.begin().await.unwrap();
        exec(
            &tx,
            &format!(
                "SELECT set_config('role', 'dealergate_app', true), \
                        set_config('app.dealership_ids', '{{{PREMIUM_AUTO}}}', true)"
            ),
        )
        .await;
        let refused = tx.execute_unprepared(statement).await.unwrap_err();
        assert!(
            refused.to_string().contains("permission denied"),
            "{statement}: {refused}"
        );
    }
}

/// Five events 40 days old, one 10 days old, and an expired login counter (which every purge
/// removes: its absence says a purge has run).
async fn old_and_young_events(app: &TestApp) {
    exec(
        &app.db.owner().await,
        "INSERT INTO audit_events (at, action, target_type) \
         SELECT now() - interval '40 days', 'test.old', 'test' FROM generate_series(1, 5); \
         INSERT INTO audit_events (at, action, target_type) \
         VALUES (now() - interval '10 days', 'test.young', 'test'); \
         INSERT INTO login_throttle (key, failures, window_started_at, locked_until) \
         VALUES ('account:old@example.com', 1, now() - interval '2 hours', NULL)",
    )
    .await;
}

const OLD: &str = "SELECT count(*) AS n FROM audit_events WHERE action = 'test.old'";
const YOUNG: &str = "SELECT count(*) AS n FROM audit_events WHERE action = 'test.young'";
const COUNTER: &str = "SELECT count(*) AS n FROM login_throttle";

#[tokio::test]
async fn retention_purges_only_old_events_in_batches() {
    let app = spawn_app_with(|s| {
        s.maintenance.purge_interval_secs = 1;
        s.maintenance.purge_batch_size = 2;
        s.audit.retention_days = 30;
    })
    .await;
    old_and_young_events(&app).await;
    let owner = app.db.owner().await;
    // five events in batches of two: three batches of one purge
    wait_for_count(&owner, OLD, 0).await;
    assert_eq!(count(&owner, YOUNG).await, 1, "a younger event stays");
}

#[tokio::test]
async fn without_a_retention_the_purge_keeps_every_event() {
    let app = spawn_app_with(|s| s.maintenance.purge_interval_secs = 1).await;
    old_and_young_events(&app).await;
    let owner = app.db.owner().await;
    wait_for_count(&owner, COUNTER, 0).await;
    assert_eq!(count(&owner, OLD).await, 5, "off by default");
}
