//! Service accounts (issue 26, part 1): machines of a dealership calling the API with an API
//! key (`dg_<key id>_<secret>`) or a client-credentials token, within their role and never
//! beyond it; made by a person, bounded by the maker's role; rotated with an overlap; revoked
//! on every replica at once; rate limited; never stepping up, making service accounts or
//! inviting; every change they make audited under the account and its maker.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, count, error_of, probes::listening,
    spawn_app, spawn_app_with,
};

const ACCOUNTS: &str = "/api/v1/service-accounts";
/// What any role may read: a machine's request that the policy lets through.
const PROBE: &str = "/api/v1/dealerships";

async fn principal(app: &TestApp) -> String {
    app.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access
}

/// A service account of Premium Auto with `role`, made by its principal: the answer (with
/// its key, shown once).
async fn made(app: &TestApp, token: &str, role: &str) -> Value {
    let resp = app
        .send_as(
            Method::POST,
            ACCOUNTS,
            token,
            json!({"name": "DMS sync", "role": role}),
        )
        .await;
    assert_eq!(resp.status(), 201, "service account made");
    resp.json().await.unwrap()
}

fn key_of(answer: &Value) -> String {
    answer["api_key"].as_str().expect("api_key").to_owned()
}

async fn status(app: &TestApp, method: Method, path: &str, key: &str, body: Value) -> u16 {
    app.send_as(method, path, key, body).await.status().as_u16()
}

async fn n(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

/// How long until `key` is refused on `app`; fails after 5 s.
async fn time_until_refused(app: &TestApp, key: &str) -> Duration {
    let started = Instant::now();
    while app.get_as(PROBE, key).await.status() != 401 {
        assert!(started.elapsed() < Duration::from_secs(5), "still accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_manager_service_account_lists_the_staff_and_cannot_create_anyone() {
    let app = spawn_app().await;
    let made = made(&app, &principal(&app).await, "manager").await;
    let key = key_of(&made);
    assert!(key.starts_with(&format!("dg_{}_", made["client_id"].as_str().unwrap())));
    assert_eq!(made["dealership_id"], json!(PREMIUM_AUTO));
    assert_eq!(made["created_by"], json!(PA_PRINCIPAL.id));

    let staff = app.get_as("/api/v1/users", &key).await;
    assert_eq!(staff.status(), 200);
    let new = json!({"email": "x@premiumauto.com", "password": "a long passphrase",
        "first_name": "X", "last_name": "Y", "role": "agent"});
    assert_eq!(
        status(&app, Method::POST, "/api/v1/users", &key, new).await,
        403
    );

    // the key is shown once: never in a later answer
    let token = principal(&app).await;
    let id = made["id"].as_str().unwrap();
    let shown = app.get_as(&format!("{ACCOUNTS}/{id}"), &token).await;
    let shown: Value = shown.json().await.unwrap();
    assert!(shown.get("api_key").is_none() && shown.get("client_secret").is_none());
    assert_eq!(shown["keys"].as_array().unwrap().len(), 1);
    let created = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'service_account.created' \
         AND target_id = '{id}' AND actor_id = '{}'",
        PA_PRINCIPAL.id
    );
    assert_eq!(n(&app, &created).await, 1);
}

#[tokio::test]
async fn the_role_is_bounded_by_the_makers_and_only_principals_make_them() {
    let app = spawn_app().await;
    let token = principal(&app).await;
    for role in ["admin", "group_principal"] {
        let body = json!({"name": "too high", "role": role});
        assert_eq!(
            status(&app, Method::POST, ACCOUNTS, &token, body).await,
            403,
            "{role}"
        );
    }
    let body = json!({"name": "no such role", "role": "lot-porter"});
    assert_eq!(
        status(&app, Method::POST, ACCOUNTS, &token, body).await,
        422
    );
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let body = json!({"name": "mine", "role": "agent"});
    assert_eq!(
        status(&app, Method::POST, ACCOUNTS, &manager.access, body).await,
        403
    );
    // a principal's account is their dealership's, whatever they name
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let platform = made(&app, &admin, "admin").await;
    assert_eq!(platform["dealership_id"], Value::Null);
    let listed = app.get_as(ACCOUNTS, &token).await;
    let listed: Value = listed.json().await.unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["dealership_id"] == json!(PREMIUM_AUTO))
    );
}

#[tokio::test]
async fn a_rotated_key_works_during_the_overlap_and_is_refused_after_it() {
    let app = spawn_app_with(|s| s.service_accounts.key_overlap_secs = 2).await;
    let token = principal(&app).await;
    let made = made(&app, &token, "manager").await;
    let (id, old) = (made["id"].as_str().unwrap(), key_of(&made));
    assert_eq!(
        app.get_as(PROBE, &old).await.status(),
        200,
        "cached before the rotation"
    );

    let rotated = app.post_as(&format!("{ACCOUNTS}/{id}/keys"), &token).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let new = key_of(&rotated);
    assert_ne!(new, old);
    assert_eq!(app.get_as(PROBE, &new).await.status(), 200);
    assert_eq!(
        app.get_as(PROBE, &old).await.status(),
        200,
        "within the overlap"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        app.get_as(PROBE, &old).await.status(),
        401,
        "after the overlap"
    );
    assert_eq!(app.get_as(PROBE, &new).await.status(), 200);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'service_account.key_rotated' \
         AND target_id = '{id}'"
    );
    assert_eq!(n(&app, &audited).await, 1);
}

#[tokio::test]
async fn revoking_an_account_or_a_key_ends_it_on_another_replica_at_once() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    listening(&app).await;
    listening(&replica).await;
    let token = principal(&app).await;
    let first = made(&app, &token, "manager").await;
    let second = made(&app, &token, "agent").await;
    let (one, two) = (key_of(&first), key_of(&second));
    for key in [&one, &two] {
        assert_eq!(
            replica.get_as(PROBE, key).await.status(),
            200,
            "cached there"
        );
    }

    let id = first["id"].as_str().unwrap();
    let gone = app
        .as_user(Method::DELETE, &format!("{ACCOUNTS}/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(app.get_as(PROBE, &one).await.status(), 401, "here at once");
    assert!(time_until_refused(&replica, &one).await < Duration::from_secs(5));
    assert_eq!(
        replica.get_as(PROBE, &two).await.status(),
        200,
        "another account"
    );

    let (id, key_id) = (
        second["id"].as_str().unwrap(),
        second["client_id"].as_str().unwrap(),
    );
    let path = format!("{ACCOUNTS}/{id}/keys/{key_id}");
    let ended = app
        .as_user(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert!(time_until_refused(&replica, &two).await < Duration::from_secs(5));
    let again = app
        .as_user(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn the_client_credentials_grant_gives_a_token_that_works_and_dies_with_the_key() {
    let app = spawn_app().await;
    let token = principal(&app).await;
    let made = made(&app, &token, "manager").await;
    let (id, secret) = (
        made["client_id"].as_str().unwrap(),
        made["client_secret"].as_str().unwrap(),
    );
    let resp = app
        .client
        .post(app.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/users", access).await.status(), 200);
    let wrong = app
        .client
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let account = made["id"].as_str().unwrap();
    let path = format!("{ACCOUNTS}/{account}/keys/{id}");
    let ended = app
        .as_user(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert_eq!(app.get_as("/api/v1/users", access).await.status(), 401);
    let discovery: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_credentials"))
    );
}

#[tokio::test]
async fn past_its_rate_a_service_account_is_answered_429_with_retry_after() {
    let app = spawn_app_with(|s| s.service_accounts.requests_per_minute = 3).await;
    let key = key_of(&made(&app, &principal(&app).await, "manager").await);
    for _ in 0..3 {
        assert_eq!(app.get_as(PROBE, &key).await.status(), 200);
    }
    let limited = app.get_as(PROBE, &key).await;
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let error = error_of(limited, 429).await;
    assert_eq!(error["type"], "rate_limited");
    assert_eq!(
        app.get_as(PROBE, &principal(&app).await).await.status(),
        200,
        "people are not"
    );
}

#[tokio::test]
async fn a_service_account_never_steps_up_makes_service_accounts_invites_or_signs_in() {
    let app = spawn_app().await;
    let key = key_of(&made(&app, &principal(&app).await, "principal").await);
    let body = json!({"name": "child", "role": "agent"});
    assert_eq!(status(&app, Method::POST, ACCOUNTS, &key, body).await, 403);
    let invite = json!({"email": "new@premiumauto.com", "role": "agent"});
    assert_eq!(
        status(&app, Method::POST, "/api/v1/invitations", &key, invite).await,
        403
    );
    let me = app.get_as("/api/v1/auth/me", &key).await;
    let error = error_of(me, 403).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("service account")
    );
    // a principal-level user needs a step-up: a machine never passes it
    let new = json!({"email": "p2@premiumauto.com", "password": "a long passphrase",
        "first_name": "P", "last_name": "Two", "role": "principal"});
    let refused = app.send_as(Method::POST, "/api/v1/users", &key, new).await;
    let error = error_of(refused, 403).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("service account")
    );
}

#[tokio::test]
async fn a_change_by_a_service_account_is_audited_under_it_and_its_maker() {
    let app = spawn_app().await;
    let made = made(&app, &principal(&app).await, "principal").await;
    let key = key_of(&made);
    let new = json!({"email": "lot@premiumauto.com", "password": "a long passphrase",
        "first_name": "Lot", "last_name": "Porter", "role": "agent"});
    assert_eq!(
        status(&app, Method::POST, "/api/v1/users", &key, new).await,
        201
    );
    let id = made["id"].as_str().unwrap();
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.created' \
         AND actor_id = '{id}' AND changes->'service_account'->>'id' = '{id}' \
         AND changes->'service_account'->>'created_by' = '{}'",
        PA_PRINCIPAL.id
    );
    assert_eq!(n(&app, &audited).await, 1);
}

#[tokio::test]
async fn malformed_or_unknown_keys_are_401_and_a_used_key_records_its_last_use() {
    let app = spawn_app().await;
    let made = made(&app, &principal(&app).await, "manager").await;
    let key = key_of(&made);
    let id = made["client_id"].as_str().unwrap();
    let unknown = format!("dg_{}_{}", uuid::Uuid::new_v4(), "x".repeat(43));
    let wrong = format!("dg_{id}_{}", "x".repeat(43));
    for garbage in [
        "dg_",
        "dg__",
        "dg_x_y",
        &unknown,
        &wrong,
        &format!("{key}x"),
    ] {
        let resp = app.get_as(PROBE, garbage).await;
        assert_eq!(resp.status(), 401, "{garbage}");
        error_of(resp, 401).await;
    }
    assert_eq!(app.get_as(PROBE, &key).await.status(), 200);
    let used = format!(
        "SELECT count(*) AS n FROM service_account_keys k JOIN service_accounts a \
         ON a.id = k.service_account_id WHERE k.id = '{id}' AND k.last_used_at IS NOT NULL \
         AND k.last_used_ip IS NOT NULL AND a.last_used_at IS NOT NULL"
    );
    let started = Instant::now();
    while n(&app, &used).await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "last use never recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_custom_role_is_handed_to_a_service_account_only_with_every_permission_held() {
    let app = spawn_app().await;
    let (within, beyond) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    crate::helpers::exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO custom_roles (id, dealership_id, name, base_role, permissions) VALUES \
             ('{within}', '{PREMIUM_AUTO}', 'staff-reader', 'agent', '{{users:list:dealership}}'), \
             ('{beyond}', '{PREMIUM_AUTO}', 'policy-reader', 'agent', '{{policies:read:dealership}}')"
        ),
    )
    .await;
    let token = principal(&app).await;
    let body = json!({"name": "too much", "role": "policy-reader"});
    assert_eq!(
        status(&app, Method::POST, ACCOUNTS, &token, body).await,
        403
    );
    let made = made(&app, &token, "staff-reader").await;
    assert_eq!(made["custom_role_id"], json!(within));
    assert_eq!(made["role"], "agent");
}

#[tokio::test]
async fn the_console_lists_makes_with_the_key_shown_once_and_revokes() {
    use crate::helpers::console::Console;
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    let page = console.get("/console/service-accounts").await;
    assert!(page.shows("Make a service account"), "{}", page.body);
    let made = console
        .post(
            "/console/service-accounts",
            &[("name", "CRM feed"), ("role", "manager")],
        )
        .await;
    assert!(
        made.shows("CRM feed") && made.body.contains("dg_"),
        "{}",
        made.body
    );
    let id: String = n_id(&app).await;
    let listed = console.get("/console/service-accounts").await;
    assert!(
        listed.shows("CRM feed") && !listed.body.contains("dg_"),
        "shown once"
    );
    let revoked = console
        .post(&format!("/console/service-accounts/{id}/revoke"), &[])
        .await;
    assert!(revoked.status.is_redirection() || revoked.status.is_success());
    let live = format!(
        "SELECT count(*) AS n FROM service_accounts WHERE id = '{id}' AND revoked_at IS NULL"
    );
    assert_eq!(n(&app, &live).await, 0);
}

/// The id of the only service account.
async fn n_id(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let row = app
        .db
        .owner()
        .await
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id::text AS id FROM service_accounts",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "id").unwrap()
}
