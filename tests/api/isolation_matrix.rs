//! The tenant-isolation matrix: every route of the OpenAPI document × every Premium Auto role
//! (and the platform admin) × {a target in the caller's dealership, one in Metro Motors, the
//! caller's own record}, with the status each must get — and no cross-tenant read or write.
//! A route added without a row here fails the test.

use std::collections::BTreeSet;

use dealergate::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, DemoUser, METRO_MOTORS, MM_AGENT, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO,
    TestApp, count, exec, spawn_app,
};

/// Statuses for [own dealership, other dealership, own record]; `0`: not applicable.
type Expect = [u16; 3];

enum Kind {
    /// No token needed; covered by the auth and health tests.
    Public,
    /// Checked for every role.
    Matrix([Expect; 4]),
}

/// The callers, in the order of the expectations: admin, then Premium Auto's principal,
/// manager and agent.
fn callers() -> [&'static DemoUser; 4] {
    [&ADMIN, &PA_PRINCIPAL, &PA_MANAGER, &PA_AGENT]
}

fn table() -> Vec<(&'static str, &'static str, Kind)> {
    use Kind::*;
    vec![
        ("POST", "/api/v1/auth/login", Public),
        ("POST", "/api/v1/auth/token", Public),
        ("POST", "/api/v1/auth/refresh", Public),
        ("GET", "/.well-known/jwks.json", Public),
        ("GET", "/healthz", Public),
        ("GET", "/readyz", Public),
        // the caller's own account: only "own record" applies
        ("POST", "/api/v1/auth/logout", Matrix([[0, 0, 204]; 4])),
        ("POST", "/api/v1/auth/logout-all", Matrix([[0, 0, 204]; 4])),
        ("GET", "/api/v1/auth/me", Matrix([[0, 0, 200]; 4])),
        ("PATCH", "/api/v1/auth/me", Matrix([[0, 0, 200]; 4])),
        ("POST", "/api/v1/auth/password", Matrix([[0, 0, 204]; 4])),
        ("GET", "/api/v1/auth/sessions", Matrix([[0, 0, 200]; 4])),
        // another user's session id is not found, whoever asks
        (
            "DELETE",
            "/api/v1/auth/sessions/{id}",
            Matrix([[404, 404, 204]; 4]),
        ),
        //                                          admin            principal        manager          agent
        (
            "GET",
            "/api/v1/users",
            Matrix([[200, 200, 0], [200, 200, 0], [200, 200, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/users/count",
            Matrix([[200, 200, 0], [200, 200, 0], [200, 200, 0], [403, 403, 0]]),
        ),
        (
            "POST",
            "/api/v1/users",
            Matrix([[201, 201, 0], [201, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/users/{id}",
            Matrix([
                [200, 200, 200],
                [200, 404, 200],
                [200, 404, 200],
                [404, 404, 200],
            ]),
        ),
        (
            "PATCH",
            "/api/v1/users/{id}",
            Matrix([
                [200, 200, 200],
                [200, 404, 200],
                [404, 404, 200],
                [404, 404, 200],
            ]),
        ),
        (
            "DELETE",
            "/api/v1/users/{id}",
            Matrix([
                [204, 204, 422],
                [204, 404, 422],
                [403, 403, 403],
                [403, 403, 403],
            ]),
        ),
        (
            "PATCH",
            "/api/v1/users/{id}/toggle-active",
            Matrix([
                [200, 200, 422],
                [200, 404, 422],
                [404, 404, 422],
                [404, 404, 422],
            ]),
        ),
        (
            "POST",
            "/api/v1/users/{id}/sessions/revoke",
            Matrix([
                [204, 204, 204],
                [204, 404, 204],
                [404, 404, 204],
                [404, 404, 204],
            ]),
        ),
        ("GET", "/api/v1/dealerships", Matrix([[200, 0, 0]; 4])),
        (
            "POST",
            "/api/v1/dealerships",
            Matrix([[201, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "GET",
            "/api/v1/dealerships/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [200, 404, 0], [200, 404, 0]]),
        ),
        (
            "PATCH",
            "/api/v1/dealerships/{id}",
            Matrix([[200, 200, 0], [200, 404, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "DELETE",
            "/api/v1/dealerships/{id}",
            Matrix([[204, 204, 0], [403, 403, 0], [403, 403, 0], [403, 403, 0]]),
        ),
        (
            "GET",
            "/api/v1/audit-events",
            Matrix([[200, 0, 0], [200, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "GET",
            "/api/v1/admin/policies",
            Matrix([[200, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
        (
            "POST",
            "/api/v1/admin/policies/reload",
            Matrix([[200, 0, 0], [403, 0, 0], [403, 0, 0], [403, 0, 0]]),
        ),
    ]
}

/// Targets made fresh for each request, so no request depends on another's effects.
struct Targets {
    pa_user: Uuid,
    mm_user: Uuid,
    spare_dealership: Uuid,
    other_spare_dealership: Uuid,
}

async fn fresh_user(app: &TestApp, dealership: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO users (id, dealership_id, email, password_hash, first_name, last_name, role) \
             SELECT '{id}', '{dealership}', '{id}@example.com', password_hash, 'Target', 'User', 'agent' \
             FROM users WHERE email = 'agent@premiumauto.com'"
        ),
    )
    .await;
    id
}

async fn fresh_dealership(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        &app.db.owner().await,
        &format!("INSERT INTO dealerships (id, name) VALUES ('{id}', 'Spare {id}')"),
    )
    .await;
    id
}

async fn targets(app: &TestApp) -> Targets {
    Targets {
        pa_user: fresh_user(app, PREMIUM_AUTO).await,
        mm_user: fresh_user(app, METRO_MOTORS).await,
        spare_dealership: fresh_dealership(app).await,
        other_spare_dealership: fresh_dealership(app).await,
    }
}

/// The concrete request for `target` (0: own dealership, 1: other, 2: own record).
/// Who is asking: a demo user, signed in.
struct Caller<'a> {
    demo: &'a DemoUser,
    id: Uuid,
    token: String,
}

async fn request(
    app: &TestApp,
    method: &str,
    template: &str,
    caller: &Caller<'_>,
    t: &Targets,
    target: usize,
) -> (String, Option<Value>) {
    let (me, token) = (caller.id, caller.token.as_str());
    let admin = caller.demo.role == Role::Admin;
    let user_id = [t.pa_user, t.mm_user, me][target];
    let dealership_id = match (admin, template.starts_with("/api/v1/dealerships/"), method) {
        (true, true, "DELETE") => [t.spare_dealership, t.other_spare_dealership, me][target],
        _ => [PREMIUM_AUTO, METRO_MOTORS, PREMIUM_AUTO][target],
    };
    let path = match template {
        "/api/v1/auth/sessions/{id}" => {
            let owner_token = match target {
                2 => token.to_owned(),
                _ => app.login_ok(MM_AGENT.email, MM_AGENT.password).await.access,
            };
            let sessions: Vec<Value> = app
                .get_as("/api/v1/auth/sessions", &owner_token)
                .await
                .json()
                .await
                .unwrap();
            let sid = sessions.iter().find(|s| s["current"] == true).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            template.replace("{id}", &sid)
        }
        t if t.starts_with("/api/v1/users/{id}") => template.replace("{id}", &user_id.to_string()),
        t if t.starts_with("/api/v1/dealerships/{id}") => {
            template.replace("{id}", &dealership_id.to_string())
        }
        "/api/v1/users" | "/api/v1/users/count" if method == "GET" && target == 1 => {
            format!("{template}?dealership_id={METRO_MOTORS}")
        }
        other => other.to_owned(),
    };
    let body = match (method, template) {
        ("PATCH", "/api/v1/auth/me") => Some(json!({"first_name": "Matrix"})),
        ("POST", "/api/v1/auth/password") => Some(
            json!({"current_password": caller.demo.password, "new_password": caller.demo.password}),
        ),
        ("POST", "/api/v1/users") => Some(json!({
            "email": format!("{}@example.com", Uuid::now_v7()), "password": "a fine passphrase",
            "first_name": "New", "last_name": "Hire", "role": "agent",
            "dealership_id": ([PREMIUM_AUTO, METRO_MOTORS, PREMIUM_AUTO][target]),
        })),
        ("PATCH", "/api/v1/users/{id}") => Some(json!({"first_name": "Edited"})),
        ("POST", "/api/v1/dealerships") => Some(json!({"name": format!("New {}", Uuid::now_v7())})),
        ("PATCH", "/api/v1/dealerships/{id}") => Some(json!({"address": "1 Matrix Road"})),
        _ => None,
    };
    (path, body)
}

/// What a non-admin of Premium Auto may see in a successful answer: nothing of Metro Motors.
fn assert_no_foreign_rows(template: &str, body: &Value) {
    let foreign = |item: &Value| {
        let of = |key: &str| item[key].as_str().and_then(|s| s.parse::<Uuid>().ok());
        match template {
            "/api/v1/dealerships" => of("id") != Some(PREMIUM_AUTO),
            _ => of("dealership_id") != Some(PREMIUM_AUTO),
        }
    };
    if let Some(items) = body.as_array()
        && matches!(
            template,
            "/api/v1/users" | "/api/v1/dealerships" | "/api/v1/audit-events"
        )
    {
        assert!(
            !items.is_empty(),
            "{template}: the caller's own rows are listed"
        );
        assert!(
            !items.iter().any(foreign),
            "{template} leaked another dealership: {body}"
        );
    }
}

#[tokio::test]
async fn every_route_every_role_every_tenant_gets_its_status_and_nothing_crosses_tenants() {
    let app = spawn_app().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let routes: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let table = table();
    let listed: BTreeSet<(String, String)> = table
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the isolation matrix: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that do not exist: {stale:?}"
    );

    let mut rows = 0;
    let mut failures = Vec::new();
    let mut untouchable = Vec::new(); // Metro Motors users that only non-admins aimed at
    for (method, template, kind) in &table {
        let Kind::Matrix(expect) = kind else { continue };
        for (caller, expected) in callers().into_iter().zip(expect) {
            for (target, want) in expected.iter().enumerate().filter(|(_, w)| **w != 0) {
                let t = targets(&app).await;
                let tokens = app.login_ok(caller.email, caller.password).await;
                let me = Caller {
                    demo: caller,
                    id: tokens.body["user"]["id"].as_str().unwrap().parse().unwrap(),
                    token: tokens.access.clone(),
                };
                let (path, body) = request(&app, method, template, &me, &t, target).await;
                let mut req = app.as_user(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path,
                    &tokens.access,
                );
                if let Some(body) = &body {
                    req = req.json(body);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                rows += 1;
                if status != *want {
                    failures.push(format!(
                        "{method} {path} as {} (target {target}): {status}, want {want}: {text}",
                        caller.role
                    ));
                    continue;
                }
                if caller.role != Role::Admin {
                    if let Ok(body) = serde_json::from_str::<Value>(&text) {
                        assert_no_foreign_rows(template, &body);
                    }
                    untouchable.push(t.mm_user);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rows >= 150, "the matrix has {rows} rows");

    // no write by a Premium Auto user reached Metro Motors
    let owner = app.db.owner().await;
    let ids = untouchable
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let changed = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM users WHERE id IN ({ids}) \
             AND (updated_at <> created_at OR deleted_at IS NOT NULL OR NOT is_active OR first_name <> 'Target')"
        ),
    )
    .await;
    assert_eq!(
        changed, 0,
        "Metro Motors users changed by Premium Auto callers"
    );
    let foreign_events = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM audit_events e JOIN users u ON u.id = e.actor_id \
             WHERE u.dealership_id = '{PREMIUM_AUTO}' AND e.dealership_id IS DISTINCT FROM '{PREMIUM_AUTO}'"
        ),
    )
    .await;
    assert_eq!(
        foreign_events, 0,
        "a Premium Auto user's change landed outside Premium Auto"
    );
    let metro = count(&owner, &format!("SELECT count(*) AS n FROM dealerships WHERE id = '{METRO_MOTORS}' AND address LIKE '%Matrix%'")).await;
    assert_eq!(metro, 1, "only the admin's edit reached Metro Motors");
}
