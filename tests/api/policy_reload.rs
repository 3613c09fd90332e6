//! Platform teams change the policy files of a running server: valid changes take effect in
//! seconds (file watch, ConfigMap symlink swap, SIGHUP, the endpoint, other replicas); broken
//! ones are refused with reasons while the previous policy stays in force.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{ADMIN, PA_AGENT, TestApp, error_of, probes::ServerProcess, spawn_app_with};

/// A private copy of `policies/` for one test.
fn policy_copy(into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    for file in ["model.conf", "policy.csv", "tests.csv"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("policies")
                .join(file),
            into.join(file),
        )
        .unwrap();
    }
    into.to_owned()
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("dg-policies-{}", uuid::Uuid::new_v4()))
}

/// The shipped files, changed so agents may list their dealership's users.
fn agents_may_list(dir: &Path) {
    let tests = std::fs::read_to_string(dir.join("tests.csv"))
        .unwrap()
        .replace(
            "agent, users, list, self, deny",
            "agent, users, list, self, allow",
        )
        .replace(
            "agent, users, list, dealership, deny",
            "agent, users, list, dealership, allow",
        );
    std::fs::write(dir.join("tests.csv"), tests).unwrap();
    let mut policy = std::fs::read_to_string(dir.join("policy.csv")).unwrap();
    policy.push_str("p, agent, users, list, dealership\n");
    std::fs::write(dir.join("policy.csv"), policy).unwrap();
}

async fn agent_list_status(app: &TestApp, token: &str) -> u16 {
    app.get_as("/api/v1/users", token).await.status().as_u16()
}

async fn within_two_seconds(app: &TestApp, token: &str, want: u16) {
    let started = Instant::now();
    while agent_list_status(app, token).await != want {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "decision not {want} after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The policy events of `action` whose `changes.source` is `source`, once there is one (a
/// replica's own loads are audited by a task of their own, just after the load).
async fn audited(app: &TestApp, admin: &str, action: &str, source: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let events: Vec<Value> = app
            .get_as(&format!("/api/v1/audit-events?action={action}"), admin)
            .await
            .json()
            .await
            .unwrap();
        let events: Vec<Value> = events
            .into_iter()
            .filter(|e| e["changes"]["source"] == source)
            .collect();
        if !events.is_empty() || started.elapsed() > Duration::from_secs(5) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn every_load_is_audited_with_its_source_hashes_and_the_rules_it_changed() {
    let dir = policy_copy(&temp_dir());
    let d = dir.clone();
    let app = spawn_app_with(move |s| s.policies.dir = d).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let started = audited(&app, &admin, "policy.loaded", "startup").await;
    assert_eq!(started.len(), 1, "the start-up load: {started:?}");
    let first_hash = started[0]["changes"]["hash"].as_str().unwrap().to_owned();
    assert!(started[0]["dealership_id"].is_null(), "a platform event");

    agents_may_list(&dir);
    let changed = audited(&app, &admin, "policy.reloaded", "file_change").await;
    let changes = &changed[0]["changes"];
    assert_eq!(changes["previous_hash"], first_hash.as_str());
    assert_ne!(changes["hash"], first_hash.as_str());
    assert_eq!(
        changes["added"],
        serde_json::json!(["p, agent, users, list, dealership"])
    );
    assert_eq!(changes["removed"], serde_json::json!([]));
    assert_eq!(
        (
            changes["added_count"].as_u64(),
            changes["removed_count"].as_u64()
        ),
        (Some(1), Some(0))
    );

    std::fs::write(dir.join("policy.csv"), "p, agent, cars, drive, any\n").unwrap();
    let refused = audited(&app, &admin, "policy.rejected", "file_change").await;
    assert!(
        refused[0]["changes"]["reasons"]
            .to_string()
            .contains("\\\"cars\\\""),
        "{refused:?}"
    );

    let by_api = app.post_as("/api/v1/admin/policies/reload", &admin).await;
    error_of(by_api, 422).await;
    let refused = audited(&app, &admin, "policy.rejected", "api").await;
    assert!(
        refused[0]["actor_id"].is_string(),
        "the admin who asked: {refused:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_edited_policy_file_takes_effect_and_a_broken_one_is_refused_with_reasons() {
    let dir = policy_copy(&temp_dir());
    let d = dir.clone();
    let app = spawn_app_with(move |s| s.policies.dir = d).await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    assert_eq!(agent_list_status(&app, &agent).await, 403);

    agents_may_list(&dir);
    within_two_seconds(&app, &agent, 200).await;

    std::fs::write(
        dir.join("policy.csv"),
        "p, agent, users\np, agent, cars, drive, any\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        agent_list_status(&app, &agent).await,
        200,
        "the previous policy stays in force"
    );

    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let refused = app.post_as("/api/v1/admin/policies/reload", &admin).await;
    let error = error_of(refused, 422).await;
    let reasons = error["details"].to_string();
    assert!(reasons.contains("malformed row"), "{reasons}");
    assert!(
        reasons.contains("unknown resource \\\"cars\\\""),
        "{reasons}"
    );
    let shown: Value = app
        .get_as("/api/v1/admin/policies", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        shown["rejected"]
            .as_str()
            .unwrap()
            .contains("malformed row")
    );
    assert!(
        shown["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &serde_json::json!(["p", "agent", "users", "list", "dealership"]))
    );
    let ready: Value = app.ops("/readyz").await.json().await.unwrap();
    assert!(
        ready["policy"]["rejected"].is_string(),
        "readiness shows the refusal: {ready}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_policy_that_fails_its_own_tests_is_refused() {
    let dir = policy_copy(&temp_dir());
    let d = dir.clone();
    let app = spawn_app_with(move |s| {
        s.policies.dir = d;
        s.policies.watch = false;
    })
    .await;
    // allow without updating tests.csv: the tests say agents may not list users
    let mut policy = std::fs::read_to_string(dir.join("policy.csv")).unwrap();
    policy.push_str("p, agent, users, list, dealership\n");
    std::fs::write(dir.join("policy.csv"), policy).unwrap();
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let error = error_of(
        app.post_as("/api/v1/admin/policies/reload", &admin).await,
        422,
    )
    .await;
    assert!(
        error["details"]
            .to_string()
            .contains("agent, users, list, dealership is allowed but must be denied"),
        "{error}"
    );
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    assert_eq!(agent_list_status(&app, &agent).await, 403);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_configmap_symlink_swap_is_picked_up() {
    // what the kubelet does: files are links into ..data, which is swapped atomically
    let root = temp_dir();
    let v1 = policy_copy(&root.join("..2026_11_22_v1"));
    std::os::unix::fs::symlink("..2026_11_22_v1", root.join("..data")).unwrap();
    for file in ["model.conf", "policy.csv", "tests.csv"] {
        std::os::unix::fs::symlink(format!("..data/{file}"), root.join(file)).unwrap();
    }
    let r = root.clone();
    let app = spawn_app_with(move |s| s.policies.dir = r).await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    assert_eq!(agent_list_status(&app, &agent).await, 403);

    let v2 = policy_copy(&root.join("..2026_11_22_v2"));
    agents_may_list(&v2);
    std::os::unix::fs::symlink("..2026_11_22_v2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(v1).unwrap();
    within_two_seconds(&app, &agent, 200).await;
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn a_reload_through_the_endpoint_reaches_every_replica() {
    let dir = policy_copy(&temp_dir());
    let d = dir.clone();
    let a = spawn_app_with(move |s| {
        s.policies.dir = d;
        s.policies.watch = false;
    })
    .await;
    let b = a.spawn_replica().await;
    while !(a.state.auth.sessions.is_listening() && b.state.auth.sessions.is_listening()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let agent = a.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    assert_eq!(agent_list_status(&b, &agent).await, 403);
    agents_may_list(&dir);
    let admin = a.login_ok(ADMIN.email, ADMIN.password).await.access;
    let reloaded = a.post_as("/api/v1/admin/policies/reload", &admin).await;
    assert_eq!(reloaded.status(), 200);
    let hash = reloaded.json::<Value>().await.unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    within_two_seconds(&b, &agent, 200).await;
    let on_b: Value = b
        .get_as("/api/v1/admin/policies", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on_b["hash"], hash.as_str());
    // once, by the replica that reloaded, with its admin and the rule it added
    let events = audited(&a, &admin, "policy.reloaded", "api").await;
    assert_eq!(events.len(), 1);
    assert!(events[0]["actor_id"].is_string());
    assert_eq!(
        events[0]["changes"]["added"],
        serde_json::json!(["p, agent, users, list, dealership"])
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn sighup_reloads_the_policy() {
    let dir = policy_copy(&temp_dir());
    // a server process of its own, signalled alone: a SIGHUP to this test process would reload
    // every server it hosts, and could make another test's replica reload without its NOTIFY
    let server = ServerProcess::start(&[
        ("DEALERGATE_POLICIES__DIR", dir.to_str().unwrap()),
        ("DEALERGATE_POLICIES__WATCH", "false"),
    ])
    .await;
    let agent = server.access_token(PA_AGENT.email, PA_AGENT.password).await;
    let agent_lists = || async {
        server
            .get_as("/api/v1/users", &agent)
            .await
            .status()
            .as_u16()
    };
    assert_eq!(agent_lists().await, 403);
    agents_may_list(&dir);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(agent_lists().await, 403, "nothing reloads by itself");
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    while agent_lists().await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the policy was not reloaded 2 s after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let admin = server.access_token(ADMIN.email, ADMIN.password).await;
    let denied_for_agent = server
        .as_user(Method::POST, "/api/v1/admin/policies/reload", &agent)
        .send()
        .await
        .unwrap();
    error_of(denied_for_agent, 403).await;
    // audited just after the reload, by the replica's own task
    let started = Instant::now();
    let by_hangup = loop {
        let reloads: Vec<Value> = server
            .get_as("/api/v1/audit-events?action=policy.reloaded", &admin)
            .await
            .json()
            .await
            .unwrap();
        if let Some(event) = reloads
            .into_iter()
            .find(|e| e["changes"]["source"] == "sighup")
        {
            break event;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not audited as sighup"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        by_hangup["changes"]["added"],
        serde_json::json!(["p, agent, users, list, dealership"])
    );
    assert_eq!(
        server
            .get_as("/api/v1/admin/policies", &admin)
            .await
            .status(),
        200
    );
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}
