//! The policy page: what is in force, and Reload with the check's result and what changed.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::admin_token;
use crate::helpers::{ADMIN, TestApp, console::Console, count, probes, spawn_app, spawn_app_with};

/// A private copy of `policies/` for one test, with one redundant rule more (a manager's own
/// record is within their dealership's), so that a reload can remove a rule and still pass.
fn policy_copy() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-policies-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["model.conf", "policy.csv", "tests.csv"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(file);
        std::fs::copy(from, dir.join(file)).unwrap();
    }
    edit(&dir, "policy.csv", |text| {
        format!("{text}p, manager, users, read, self\n")
    });
    dir
}

fn edit(dir: &Path, file: &str, change: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    std::fs::write(dir.join(file), change(text)).unwrap();
}

async fn app_on(dir: &Path) -> TestApp {
    let d = dir.to_owned();
    spawn_app_with(move |s| {
        s.policies.dir = d;
        s.policies.watch = false;
    })
    .await
}

#[tokio::test]
async fn admin_sees_the_policy_in_force_its_hash_and_rules() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    let page = console.get("/console/policy").await;
    assert_eq!(page.status, StatusCode::OK);
    let admin = admin_token(&app).await;
    let api: Value = app
        .get_as("/api/v1/admin/policies", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(page.shows(api["hash"].as_str().unwrap()), "{}", page.body);
    assert!(
        page.body
            .contains("<td>principal</td><td>audit_events</td><td>list</td><td>dealership</td>")
    );
    assert!(
        page.body.contains("<td>manager</td><td>agent</td>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn admin_reload_shows_the_rules_added_and_removed_and_one_audit_event_records_them() {
    let dir = policy_copy();
    let app = app_on(&dir).await;
    // the listener's own reload as it connects (queued first: reloads go one at a time) is
    // over once this one answers; it must not be the one that finds the edited files
    probes::listening(&app).await;
    let admin = admin_token(&app).await;
    let unchanged = app.post_as("/api/v1/admin/policies/reload", &admin).await;
    assert_eq!(unchanged.status(), 200);
    edit(&dir, "policy.csv", |text| {
        text.replace("p, manager, users, read, self\n", "") + "p, agent, users, list, dealership\n"
    });
    edit(&dir, "tests.csv", |text| {
        text.replace(
            "agent, users, list, self, deny",
            "agent, users, list, self, allow",
        )
        .replace(
            "agent, users, list, dealership, deny",
            "agent, users, list, dealership, allow",
        )
    });
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    let before = console.get("/console/policy").await;
    let reloaded = console.post("/console/policy/reload", &[]).await;
    assert_eq!(reloaded.status, StatusCode::OK, "{}", reloaded.body);
    assert!(reloaded.shows("Reloaded"), "{}", reloaded.body);
    let added = reloaded
        .body
        .split("rules-added")
        .nth(1)
        .expect("rules added");
    assert!(
        added.contains("p, agent, users, list, dealership"),
        "{}",
        reloaded.body
    );
    let removed = reloaded
        .body
        .split("rules-removed")
        .nth(1)
        .expect("rules removed");
    assert!(
        removed.contains("p, manager, users, read, self"),
        "{}",
        reloaded.body
    );
    let admin = admin_token(&app).await;
    let api: Value = app
        .get_as("/api/v1/admin/policies", &admin)
        .await
        .json()
        .await
        .unwrap();
    let hash = api["hash"].as_str().unwrap();
    assert!(reloaded.shows(hash) && !before.shows(hash));

    // this replica hears its own notice and reloads again: unaudited, and nothing changed
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let owner = app.db.owner().await;
    // one event a reload: the unchanged one's says so
    let all = "SELECT count(*) AS n FROM audit_events WHERE action = 'policy.reloaded'";
    assert_eq!(count(&owner, all).await, 2);
    let unchanged = "SELECT count(*) AS n FROM audit_events WHERE action = 'policy.reloaded' \
         AND changes->'added' = '[]'::jsonb AND changes->'removed' = '[]'::jsonb";
    assert_eq!(count(&owner, unchanged).await, 1);
    let carrying = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'policy.reloaded' \
         AND changes->'added' = '[\"p, agent, users, list, dealership\"]'::jsonb \
         AND changes->'removed' = '[\"p, manager, users, read, self\"]'::jsonb \
         AND changes->>'hash' = '{hash}' AND actor_id = '{}'",
        ADMIN.id
    );
    assert_eq!(count(&owner, &carrying).await, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn admin_reload_of_a_broken_policy_shows_the_reasons_and_keeps_the_policy_in_force() {
    let dir = policy_copy();
    let app = app_on(&dir).await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    let admin = admin_token(&app).await;
    let hash_now = || async {
        let api: Value = app
            .get_as("/api/v1/admin/policies", &admin)
            .await
            .json()
            .await
            .unwrap();
        api["hash"].as_str().unwrap().to_owned()
    };
    let hash = hash_now().await;
    std::fs::write(
        dir.join("policy.csv"),
        "p, agent, users\np, agent, cars, drive, any\n",
    )
    .unwrap();
    console.get("/console/policy").await;
    let refused = console.post("/console/policy/reload", &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.shows("Refused: the policy in force stays"),
        "{}",
        refused.body
    );
    assert!(refused.shows("malformed row"), "{}", refused.body);
    assert!(
        refused.shows("unknown resource \"cars\""),
        "{}",
        refused.body
    );
    assert!(refused.shows(&hash));
    assert_eq!(hash_now().await, hash, "the old policy stays");
    let later = console.get("/console/policy").await;
    assert!(later.shows("The newest files were refused") && later.shows("malformed row"));
    let owner = app.db.owner().await;
    let events = "SELECT count(*) AS n FROM audit_events WHERE action = 'policy.rejected'";
    assert_eq!(count(&owner, events).await, 1);
    std::fs::remove_dir_all(dir).unwrap();
}
