//! The OpenID client registry (issue 25): admins register public and confidential clients; a
//! confidential client's secret is shown once and stored as its SHA-256 only; a rotation keeps
//! the previous secret working for the configured overlap; disabling or deleting a client ends
//! its refresh families at once, on every replica; every change needs a recent second factor
//! and leaves an audit event without the secret; nobody but an admin reaches the registry.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, DemoUser, PA_AGENT, PA_MANAGER, PA_OWNER, PA_PRINCIPAL, PREMIUM_AUTO, PREMIUM_GROUP,
    TestApp, count, error_of, exec,
    mfa::{claims, enrol},
    probes::{listening, probe, session_id, time_until_probe_refused},
    spawn_app, spawn_app_with,
};

const CLIENTS: &str = "/api/v1/oauth-clients";

async fn admin(app: &TestApp) -> String {
    app.login_ok(ADMIN.email, ADMIN.password).await.access
}

/// A valid registration, `confidential` or not.
fn desking(confidential: bool) -> Value {
    json!({
        "name": "Desking",
        "confidential": confidential,
        "redirect_uris": ["https://desking.example.com/cb", "http://127.0.0.1/cb"],
        "post_logout_redirect_uris": ["https://desking.example.com/"],
        "scopes": ["openid", "profile", "offline_access"],
    })
}

/// Registers `body` as `token` (asserting 201): the answer.
async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.send_as(Method::POST, CLIENTS, token, body).await;
    assert_eq!(resp.status(), 201, "registered");
    resp.json().await.unwrap()
}

fn id_of(client: &Value) -> String {
    client["id"].as_str().unwrap().to_owned()
}

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

/// How many of `secrets` are live secrets of client `id`, as the token endpoint's definer
/// lookup (`oauth_client`) sees them.
async fn live(app: &TestApp, id: &str, secrets: &[&str]) -> i64 {
    let listed = secrets
        .iter()
        .map(|s| format!("sha256(convert_to('{s}', 'UTF8'))"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT count(*) AS n FROM oauth_client('{id}') c, unnest(c.secret_hashes) h \
         WHERE h IN ({listed})"
    );
    n(app, &sql).await
}

async fn events(app: &TestApp, action: &str, id: &str) -> Vec<Value> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let sql = format!(
        "SELECT changes::text AS changes FROM audit_events WHERE action = '{action}' \
         AND target_type = 'oauth_client' AND target_id = '{id}' ORDER BY at"
    );
    let rows = app
        .db
        .owner()
        .await
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String>("", "changes").unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_confidential_clients_secret_is_shown_once_and_stored_as_a_hash_only() {
    let app = spawn_app().await;
    let token = admin(&app).await;
    let made = register(&app, &token, desking(true)).await;
    let id = id_of(&made);
    let secret = made["client_secret"].as_str().expect("the secret, once");
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(made["confidential"], true);
    assert_eq!(
        made["scopes"],
        json!(["openid", "profile", "offline_access"])
    );
    assert_eq!(made["id_token_alg"], "ES256");
    assert_eq!(
        (made["dealership_ids"].clone(), made["group_ids"].clone()),
        (json!([]), json!([]))
    );
    assert_eq!(made["secrets"].as_array().unwrap().len(), 1);
    assert!(made["secrets"][0]["expires_at"].is_null());
    assert_eq!(
        live(&app, &id, &[secret]).await,
        1,
        "its hash is the live one"
    );
    let stored = format!(
        "SELECT count(*) AS n FROM oauth_client_secrets WHERE client_id = '{id}' \
         AND secret_hash = sha256(convert_to('{secret}', 'UTF8'))"
    );
    assert_eq!(n(&app, &stored).await, 1);

    for path in [format!("{CLIENTS}/{id}"), CLIENTS.to_owned()] {
        let resp = app.get_as(&path, &token).await;
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains(secret),
            "{path} never shows the secret again"
        );
        assert!(
            !text.contains("client_secret") && !text.contains("hash"),
            "{text}"
        );
    }
    let list: Vec<Value> = app.get_as(CLIENTS, &token).await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Desking");

    let created = events(&app, "oauth_client.created", &id).await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0]["redirect_uris"][0],
        "https://desking.example.com/cb"
    );
    let everything = n(
        &app,
        &format!("SELECT count(*) AS n FROM audit_events WHERE changes::text LIKE '%{secret}%'"),
    )
    .await;
    assert_eq!(everything, 0, "no audit event holds the secret");
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_none_to_rotate() {
    let app = spawn_app().await;
    let token = admin(&app).await;
    let made = register(&app, &token, desking(false)).await;
    let id = id_of(&made);
    assert!(made["client_secret"].is_null(), "{made}");
    assert_eq!(made["secrets"], json!([]));
    let rotated = app.post_as(&format!("{CLIENTS}/{id}/secret"), &token).await;
    assert_eq!(error_of(rotated, 409).await["type"], "conflict");
    let stored = format!("SELECT count(*) AS n FROM oauth_client_secrets WHERE client_id = '{id}'");
    assert_eq!(n(&app, &stored).await, 0);
}

#[tokio::test]
async fn invalid_registrations_are_refused_with_the_fields_named_and_nothing_stored() {
    let app = spawn_app().await;
    let token = admin(&app).await;
    let with = |field: &str, value: Value| {
        let mut body = desking(true);
        body[field] = value;
        body
    };
    let cases = [
        (
            with("redirect_uris", json!(["javascript:alert(1)"])),
            "redirect_uris.0",
        ),
        (
            with("redirect_uris", json!(["https://a.example.com/cb#x"])),
            "redirect_uris.0",
        ),
        (
            with(
                "redirect_uris",
                json!(["https://a.example.com/cb", "/relative"]),
            ),
            "redirect_uris.1",
        ),
        // http only on a loopback address (or localhost in dev)
        (
            with("redirect_uris", json!(["http://crm.example.com/cb"])),
            "redirect_uris.0",
        ),
        (
            with("redirect_uris", json!(["https://user:pw@a.example.com/cb"])),
            "redirect_uris.0",
        ),
        (
            with("redirect_uris", json!([" https://a.example.com/cb"])),
            "redirect_uris.0",
        ),
        (with("redirect_uris", json!([])), "redirect_uris"),
        (with("redirect_uris", json!([1])), "redirect_uris.0"),
        (
            with("redirect_uris", json!("https://a.example.com/cb")),
            "redirect_uris",
        ),
        (
            with("post_logout_redirect_uris", json!(["data:text/html,hi"])),
            "post_logout_redirect_uris.0",
        ),
        (with("scopes", json!(["profile"])), "scopes"),
        (with("scopes", json!(["openid", "admin"])), "scopes.1"),
        (with("id_token_alg", json!("HS256")), "id_token_alg"),
        (with("name", json!("")), "name"),
        (with("name", json!("x".repeat(101))), "name"),
        (
            with("dealership_ids", json!([Uuid::now_v7()])),
            "dealership_ids.0",
        ),
        (
            with("group_ids", json!([PREMIUM_GROUP, Uuid::now_v7()])),
            "group_ids.1",
        ),
        (with("confidential", json!("yes")), "confidential"),
    ];
    for (body, field) in cases {
        let resp = app
            .send_as(Method::POST, CLIENTS, &token, body.clone())
            .await;
        let error = error_of(resp, 422).await;
        assert_eq!(error["type"], "validation_error");
        let named: Vec<&str> = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, [field], "{body}: {error}");
    }
    assert_eq!(n(&app, "SELECT count(*) AS n FROM oauth_clients").await, 0);
    let missing = app
        .send_as(Method::POST, CLIENTS, &token, json!({"name": "x"}))
        .await;
    error_of(missing, 422).await;
    let not_json = app
        .as_user(Method::POST, CLIENTS, &token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(not_json, 400).await["type"], "bad_request");
    let bad_id = app.get_as(&format!("{CLIENTS}/not-an-id"), &token).await;
    error_of(bad_id, 400).await;
    let unknown = app
        .get_as(&format!("{CLIENTS}/{}", Uuid::now_v7()), &token)
        .await;
    error_of(unknown, 404).await;

    // in dev, http on localhost is a redirect a developer may register; confined to real places
    let dev = with("redirect_uris", json!(["http://localhost:3000/cb"]));
    let mut confined = dev.clone();
    confined["dealership_ids"] = json!([PREMIUM_AUTO, PREMIUM_AUTO]);
    confined["group_ids"] = json!([PREMIUM_GROUP]);
    let made = register(&app, &token, confined).await;
    assert_eq!(
        made["dealership_ids"],
        json!([PREMIUM_AUTO]),
        "without repeats"
    );
    assert_eq!(made["group_ids"], json!([PREMIUM_GROUP]));
}

#[tokio::test]
async fn nobody_but_an_admin_reaches_the_registry() {
    let app = spawn_app().await;
    let made = register(&app, &admin(&app).await, desking(true)).await;
    let one = format!("{CLIENTS}/{}", id_of(&made));
    let who: [&DemoUser; 4] = [&PA_PRINCIPAL, &PA_MANAGER, &PA_AGENT, &PA_OWNER];
    for caller in who {
        let token = app.login_ok(caller.email, caller.password).await.access;
        for (method, path, body) in [
            (Method::GET, CLIENTS.to_owned(), Value::Null),
            (Method::POST, CLIENTS.to_owned(), desking(false)),
            (Method::GET, one.clone(), Value::Null),
            (Method::PATCH, one.clone(), json!({"name": "Mine"})),
            (Method::DELETE, one.clone(), Value::Null),
            (Method::POST, format!("{one}/secret"), Value::Null),
        ] {
            let resp = app.send_as(method.clone(), &path, &token, body).await;
            let error = error_of(resp, 403).await;
            assert_eq!(
                error["type"], "forbidden",
                "{method} {path} as {}",
                caller.email
            );
        }
    }
    let after = "SELECT count(*) AS n FROM oauth_clients WHERE name = 'Desking'";
    assert_eq!(n(&app, after).await, 1, "nothing made, changed or deleted");
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM oauth_client_secrets").await,
        1
    );
}

/// How recent a code must be here: short, so the test waits a few seconds for it to age.
const MAX_AGE_SECS: u64 = 3;

#[tokio::test]
async fn every_change_needs_a_recent_second_factor_from_an_admin_who_has_one() {
    let app = spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = MAX_AGE_SECS).await;
    let enrolled = enrol(&app, &admin(&app).await, ADMIN.password).await;
    let made = register(&app, &enrolled.access, desking(true)).await;
    let one = format!("{CLIENTS}/{}", id_of(&made));
    tokio::time::sleep(Duration::from_millis(MAX_AGE_SECS * 1_000 + 1_500)).await;
    let stale = &enrolled.access;
    let changes = [
        (Method::POST, CLIENTS.to_owned(), desking(false)),
        (Method::PATCH, one.clone(), json!({"name": "Renamed"})),
        (Method::POST, format!("{one}/secret"), Value::Null),
        (Method::DELETE, one.clone(), Value::Null),
    ];
    for (method, path, body) in &changes {
        let resp = app.send_as(method.clone(), path, stale, body.clone()).await;
        let error = error_of(resp, 403).await;
        assert_eq!(error["type"], "step_up_required", "{method} {path}");
    }
    assert_eq!(
        app.get_as(&one, stale).await.status(),
        200,
        "reading needs none"
    );
    let unchanged = "SELECT count(*) AS n FROM oauth_clients WHERE name = 'Desking'";
    assert_eq!(n(&app, unchanged).await, 1);
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM oauth_client_secrets").await,
        1
    );

    let code = enrolled.app.next_code().await;
    let stepped = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/step-up",
            stale,
            json!({"code": code}),
        )
        .await;
    assert_eq!(stepped.status(), 200);
    let fresh = stepped.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims(&fresh)["sid"], claims(stale)["sid"]);
    let expected = [
        StatusCode::CREATED,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::NO_CONTENT,
    ];
    for ((method, path, body), want) in changes.iter().zip(expected) {
        let resp = app
            .send_as(method.clone(), path, &fresh, body.clone())
            .await;
        assert_eq!(resp.status(), want, "{method} {path} after the step-up");
    }
}

#[tokio::test]
async fn a_rotation_keeps_the_previous_secret_working_until_the_overlap_ends() {
    let app = spawn_app_with(|s| s.oidc.secret_overlap_secs = 3_600).await;
    let token = admin(&app).await;
    let made = register(&app, &token, desking(true)).await;
    let (id, first) = (
        id_of(&made),
        made["client_secret"].as_str().unwrap().to_owned(),
    );
    let rotate = format!("{CLIENTS}/{id}/secret");
    let resp = app.post_as(&rotate, &token).await;
    assert_eq!(resp.status(), 200);
    let rotated: Value = resp.json().await.unwrap();
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        live(&app, &id, &[&first, &second]).await,
        2,
        "both work in the overlap"
    );
    let secrets = rotated["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2, "{rotated}");
    assert!(secrets[0]["expires_at"].is_null(), "the new one, first");
    assert!(
        secrets[1]["expires_at"].is_string(),
        "the previous one ends"
    );
    let overlap = format!(
        "SELECT count(*) AS n FROM oauth_client_secrets WHERE client_id = '{id}' \
         AND expires_at BETWEEN now() + interval '3590 seconds' AND now() + interval '3600 seconds'"
    );
    assert_eq!(n(&app, &overlap).await, 1, "the configured overlap");

    // the overlap ends (an hour, in a moment)
    let owner = app.db.owner().await;
    let past = format!(
        "UPDATE oauth_client_secrets SET expires_at = now() - interval '1 second' \
         WHERE client_id = '{id}' AND expires_at IS NOT NULL"
    );
    exec(&owner, &past).await;
    assert_eq!(live(&app, &id, &[&first]).await, 0, "the overlap is over");
    assert_eq!(live(&app, &id, &[&second]).await, 1);
    let shown: Value = app
        .get_as(&format!("{CLIENTS}/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["secrets"].as_array().unwrap().len(), 1, "{shown}");

    // a previous secret already in its overlap keeps its earlier end
    let third = app
        .post_as(&rotate, &token)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(n(&app, &overlap).await, 1, "the second's overlap begins");
    let rows = format!("SELECT count(*) AS n FROM oauth_client_secrets WHERE client_id = '{id}'");
    assert_eq!(n(&app, &rows).await, 2, "the expired first secret is gone");
    exec(
        &owner,
        &format!(
            "UPDATE oauth_client_secrets SET expires_at = now() + interval '1 minute' \
                  WHERE client_id = '{id}' AND expires_at IS NOT NULL"
        ),
    )
    .await;
    let fourth = app
        .post_as(&rotate, &token)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (third, fourth) = (
        third["client_secret"].as_str().unwrap(),
        fourth["client_secret"].as_str().unwrap(),
    );
    assert_eq!(live(&app, &id, &[&second, third, fourth]).await, 3);
    let kept = format!(
        "SELECT count(*) AS n FROM oauth_client_secrets WHERE client_id = '{id}' \
         AND secret_hash = sha256(convert_to('{second}', 'UTF8')) \
         AND expires_at < now() + interval '2 minutes'"
    );
    assert_eq!(n(&app, &kept).await, 1, "the second's end did not move");
    assert_eq!(n(&app, &rows).await, 3);
    let rotations = events(&app, "oauth_client.secret_rotated", &id).await;
    assert_eq!(rotations.len(), 3);
    assert_eq!(
        rotations[2]["previous_secrets"], 1,
        "only the current one had no end"
    );
    for s in [first.as_str(), &second, third, fourth] {
        let leaked =
            format!("SELECT count(*) AS n FROM audit_events WHERE changes::text LIKE '%{s}%'");
        assert_eq!(n(&app, &leaked).await, 0);
    }
}

/// Signs `who` in and binds the new family to client `id`, as the code exchange will: the
/// family's access token.
async fn family_of(app: &TestApp, who: &DemoUser, id: &str) -> String {
    let access = app.login_ok(who.email, who.password).await.access;
    let sid = session_id(&access);
    let bind = format!("UPDATE sessions SET client_id = '{id}' WHERE id = '{sid}'");
    exec(&app.db.owner().await, &bind).await;
    access
}

#[tokio::test]
async fn disabling_or_deleting_a_client_ends_its_families_at_once_on_every_replica() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let token = admin(&app).await;
    let id = id_of(&register(&app, &token, desking(true)).await);
    let other = id_of(&register(&app, &token, desking(false)).await);
    let agent = family_of(&app, &PA_AGENT, &id).await;
    let manager = family_of(&app, &PA_MANAGER, &id).await;
    let elsewhere = family_of(&app, &PA_PRINCIPAL, &other).await;
    let unbound = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    listening(&app).await;
    listening(&replica).await;
    // cached as live on both replicas: what follows is the change's doing, not a fresh read
    for t in [&agent, &manager, &elsewhere, &unbound] {
        assert_eq!(probe(&app, t).await, 200);
        assert_eq!(probe(&replica, t).await, 200);
    }

    let off = app
        .send_as(
            Method::PATCH,
            &format!("{CLIENTS}/{id}"),
            &token,
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(off.status(), 200);
    assert_eq!(off.json::<Value>().await.unwrap()["is_active"], false);
    for t in [&agent, &manager] {
        assert_eq!(probe(&app, t).await, 401, "at once, here");
        assert!(time_until_probe_refused(&replica, t).await < Duration::from_secs(5));
    }
    for t in [&elsewhere, &unbound] {
        assert_eq!(probe(&replica, t).await, 200, "not its family");
    }
    let ended = format!(
        "SELECT count(*) AS n FROM sessions WHERE client_id = '{id}' \
         AND revoked_reason = 'client_disabled'"
    );
    assert_eq!(n(&app, &ended).await, 2);
    let updated = events(&app, "oauth_client.updated", &id).await;
    assert_eq!(
        updated[0]["is_active"],
        json!({"before": true, "after": false})
    );
    assert_eq!(updated[0]["sessions_ended"], 2);

    let gone = app
        .as_user(Method::DELETE, &format!("{CLIENTS}/{other}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(probe(&app, &elsewhere).await, 401, "at once, here");
    assert!(time_until_probe_refused(&replica, &elsewhere).await < Duration::from_secs(5));
    assert_eq!(probe(&replica, &unbound).await, 200);
    let ended = format!(
        "SELECT count(*) AS n FROM sessions WHERE client_id = '{other}' \
         AND revoked_reason = 'client_deleted'"
    );
    assert_eq!(n(&app, &ended).await, 1);
    let deleted = events(&app, "oauth_client.deleted", &other).await;
    assert_eq!(deleted[0]["sessions_ended"], 1, "{deleted:?}");
    let left = format!("SELECT count(*) AS n FROM oauth_clients WHERE id = '{other}'");
    assert_eq!(n(&app, &left).await, 0);
    error_of(app.get_as(&format!("{CLIENTS}/{other}"), &token).await, 404).await;
}

#[tokio::test]
async fn an_edit_changes_what_it_names_and_the_event_says_before_and_after() {
    let app = spawn_app().await;
    let token = admin(&app).await;
    let id = id_of(&register(&app, &token, desking(true)).await);
    let one = format!("{CLIENTS}/{id}");
    let resp = app
        .send_as(
            Method::PATCH,
            &one,
            &token,
            json!({"name": "Desking 2", "scopes": ["dealership", "openid"], "first_party": true,
                   "id_token_alg": "EdDSA", "dealership_ids": [PREMIUM_AUTO], "redirect_uris": null}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let edited: Value = app.get_as(&one, &token).await.json().await.unwrap();
    assert_eq!(edited["name"], "Desking 2");
    assert_eq!(edited["scopes"], json!(["openid", "dealership"]));
    assert_eq!(edited["first_party"], true);
    assert_eq!(edited["id_token_alg"], "EdDSA");
    assert_eq!(edited["dealership_ids"], json!([PREMIUM_AUTO]));
    assert_eq!(
        edited["redirect_uris"][0], "https://desking.example.com/cb",
        "null keeps"
    );
    let event = &events(&app, "oauth_client.updated", &id).await[0];
    assert_eq!(
        event["name"],
        json!({"before": "Desking", "after": "Desking 2"})
    );
    assert_eq!(
        event["dealership_ids"],
        json!({"before": null, "after": [PREMIUM_AUTO]})
    );
    assert!(event.get("redirect_uris").is_none(), "{event}");

    let lifted = app
        .send_as(Method::PATCH, &one, &token, json!({"dealership_ids": []}))
        .await;
    assert_eq!(
        lifted.json::<Value>().await.unwrap()["dealership_ids"],
        json!([])
    );
    let stored = format!(
        "SELECT count(*) AS n FROM oauth_clients WHERE id = '{id}' AND dealership_ids IS NULL"
    );
    assert_eq!(
        n(&app, &stored).await,
        1,
        "no confinement, not an empty one"
    );
    let same = app
        .send_as(Method::PATCH, &one, &token, json!({"name": "Desking 2"}))
        .await;
    assert_eq!(same.status(), 200);
    assert_eq!(
        events(&app, "oauth_client.updated", &id).await.len(),
        2,
        "nothing changed: no event"
    );
    let refused = app
        .send_as(
            Method::PATCH,
            &one,
            &token,
            json!({"redirect_uris": ["https://x.example.com/#f"]}),
        )
        .await;
    let error = error_of(refused, 422).await;
    assert_eq!(error["details"][0]["field"], "redirect_uris.0");
    let missing = app
        .send_as(
            Method::PATCH,
            &format!("{CLIENTS}/{}", Uuid::now_v7()),
            &token,
            json!({}),
        )
        .await;
    error_of(missing, 404).await;
}
