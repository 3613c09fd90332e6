//! The access review and MFA coverage: a principal's CSV lists their dealership's people and
//! nobody else's, with formula-looking names neutralised and the body's hash in a header; a
//! manager is refused; a completion is recorded with that hash and audited; coverage counts
//! who has a second factor.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{ADMIN, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, count, exec, spawn_app};

#[tokio::test]
async fn a_principal_downloads_their_dealerships_access_review_as_csv() {
    let app = spawn_app().await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!(
            "UPDATE people SET first_name = '=HYPERLINK(\"http://evil\")' WHERE id = \
             (SELECT person_id FROM memberships WHERE id = '{}')",
            PA_AGENT.id
        ),
    )
    .await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;

    let resp = app
        .get_as("/api/v1/access-review?format=csv", &principal.access)
        .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let hash = resp.headers()["x-export-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = resp.bytes().await.unwrap();
    assert_eq!(hash, format!("{:x}", Sha256::digest(&body)));

    let mut csv = csv::Reader::from_reader(&body[..]);
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
    for column in [
        "email",
        "role",
        "custom_role",
        "permissions",
        "status",
        "second_factor",
        "last_sign_in",
        "created_by",
        "created_at",
        "last_role_change_by",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let emails: Vec<&str> = rows.iter().map(|r| &r[column("email")]).collect();
    assert!(emails.contains(&PA_AGENT.email) && emails.contains(&PA_MANAGER.email));
    assert!(
        !emails.iter().any(|e| e.ends_with("@metromotors.com")),
        "another dealership's people: {emails:?}"
    );
    let agent = rows
        .iter()
        .find(|r| &r[column("email")] == PA_AGENT.email)
        .unwrap();
    assert_eq!(&agent[column("first_name")], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&agent[column("status")], "active");

    // the same export by content negotiation
    let by_accept = app
        .as_user(Method::GET, "/api/v1/access-review", &principal.access)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(
        by_accept.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
}

#[tokio::test]
async fn a_manager_may_not_review_access() {
    let app = spawn_app().await;
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    for path in ["/api/v1/access-review", "/api/v1/mfa-coverage"] {
        assert_eq!(
            app.get_as(path, &manager.access).await.status(),
            403,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_completed_review_is_recorded_with_the_exports_hash_and_audited() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let resp = app.get_as("/api/v1/access-review", &principal.access).await;
    let hash = resp.headers()["x-export-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let entries: Value = resp.json().await.unwrap();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["dealership_id"] == json!(PA_PRINCIPAL.dealership))
    );

    let path = "/api/v1/access-review/completions";
    let bad = app
        .send_as(
            Method::POST,
            path,
            &principal.access,
            json!({"export_sha256": "nope"}),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let done = app
        .send_as(
            Method::POST,
            path,
            &principal.access,
            json!({"export_sha256": hash, "note": "Q4 review"}),
        )
        .await;
    assert_eq!(done.status(), 201);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["export_sha256"], json!(hash));
    assert_eq!(done["completed_by"], json!(PA_PRINCIPAL.id));

    let listed: Value = app
        .get_as(path, &principal.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], done["id"]);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'access_review.completed' \
         AND actor_id = '{}' AND changes->>'export_sha256' = '{hash}'",
        PA_PRINCIPAL.id
    );
    assert_eq!(count(&app.db.owner().await, &audited).await, 1);
    // another dealership's principal does not see it
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let all: Value = app.get_as(path, &admin.access).await.json().await.unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "the admin sees every completion"
    );
}

#[tokio::test]
async fn mfa_coverage_counts_who_has_a_second_factor() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let before = coverage(&app, &principal.access).await;
    let people = before["total"]["people"].as_u64().unwrap();
    let with = before["total"]["with_second_factor"].as_u64().unwrap();
    assert!(people >= 3, "{before}");
    assert_eq!(
        before["without_second_factor"].as_array().unwrap().len() as u64,
        people - with
    );

    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO mfa_factors (id, person_id, kind, secret_sealed, confirmed_at) \
             SELECT gen_random_uuid(), person_id, 'totp', '\\x00', now() \
             FROM memberships WHERE id = '{}'",
            PA_AGENT.id
        ),
    )
    .await;
    let after = coverage(&app, &principal.access).await;
    assert_eq!(
        after["total"]["with_second_factor"].as_u64().unwrap(),
        with + 1
    );
    assert!(
        !after["without_second_factor"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["email"] == json!(PA_AGENT.email))
    );
}

async fn coverage(app: &crate::helpers::TestApp, token: &str) -> Value {
    let resp = app.get_as("/api/v1/mfa-coverage", token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_console_shows_the_review_attention_first_and_records_a_completion() {
    let app = spawn_app().await;
    let mut console = crate::helpers::console::Console::signed_in(
        &app,
        PA_PRINCIPAL.email,
        PA_PRINCIPAL.password,
    )
    .await;
    let page = console.get("/console/access-review").await;
    assert_eq!(page.status, 200);
    assert!(page.shows(PA_AGENT.email) && page.shows("no_second_factor"));
    assert!(!page.shows("@metromotors.com"));
    // the form carries the hash of the export the page shows
    let at = page.body.find("name=\"export_sha256\" value=\"").unwrap() + 28;
    let hash = page.body[at..at + 64].to_owned();
    let done = console
        .post(
            "/console/access-review/completions",
            &[("export_sha256", &hash), ("note", "ok")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let recorded = format!(
        "SELECT count(*) AS n FROM access_review_completions WHERE export_sha256 = '{hash}'"
    );
    assert_eq!(count(&app.db.owner().await, &recorded).await, 1);
    let csv = console.get("/console/access-review.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("kind,id,email"));

    let mut manager =
        crate::helpers::console::Console::signed_in(&app, PA_MANAGER.email, PA_MANAGER.password)
            .await;
    assert_eq!(manager.get("/console/access-review").await.status, 403);
}
