//! Custom roles: a dealership's principal (or an admin) defines named roles as a base role plus
//! permissions; holders get exactly those; nobody defines, widens or hands out a permission
//! they do not hold; another dealership's roles are invisible and cannot be handed out; a held
//! role cannot be deleted; a change reaches a second replica without a restart.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, METRO_MOTORS, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp,
    count, error_of, exec, spawn_app,
};

const ROLES: &str = "/api/v1/roles";
const PASSWORD: &str = "a long enough passphrase";

fn permission(resource: &str, action: &str, scope: &str) -> Value {
    json!({"resource": resource, "action": action, "scope": scope})
}

fn audit_reader() -> Value {
    json!({"name": "auditor", "base_role": "agent",
           "permissions": [permission("audit_events", "list", "dealership")]})
}

async fn token(app: &TestApp, who: &crate::helpers::DemoUser) -> String {
    app.login_ok(who.email, who.password).await.access
}

async fn define(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.send_as(Method::POST, ROLES, token, body).await
}

async fn defined(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = define(app, token, body.clone()).await;
    assert_eq!(resp.status(), 201, "{body}");
    resp.json().await.unwrap()
}

/// A new user of `role` made by `token` in the caller's dealership (or `dealership_id`).
async fn hire(app: &TestApp, token: &str, email: &str, role: &str) -> reqwest::Response {
    let body = json!({"email": email, "password": PASSWORD, "first_name": "Custom",
                      "last_name": "Holder", "role": role});
    app.send_as(Method::POST, "/api/v1/users", token, body)
        .await
}

async fn status_of(resp: reqwest::Response) -> u16 {
    resp.status().as_u16()
}

async fn roles_in_db(app: &TestApp) -> i64 {
    count(
        &app.db.owner().await,
        "SELECT count(*) AS n FROM custom_roles",
    )
    .await
}

#[tokio::test]
async fn a_holder_gets_the_base_role_and_the_roles_permissions_and_keeps_them_through_a_rename() {
    let app = spawn_app().await;
    let principal = token(&app, &PA_PRINCIPAL).await;
    let role = defined(&app, &principal, audit_reader()).await;
    assert_eq!(role["dealership_id"], PREMIUM_AUTO.to_string());
    assert_eq!(role["base_role"], "agent");
    assert_eq!(
        role["permissions"],
        json!([permission("audit_events", "list", "dealership")])
    );

    let resp = hire(&app, &principal, "auditor@premiumauto.com", "auditor").await;
    assert_eq!(resp.status(), 201);
    let holder: Value = resp.json().await.unwrap();
    assert_eq!(holder["role"], "agent", "the rank is the base role's");
    assert_eq!(holder["custom_role_id"], role["id"]);

    let access = app
        .login_ok("auditor@premiumauto.com", PASSWORD)
        .await
        .access;
    // the role's own permission, within the dealership only
    let events = app.get_as("/api/v1/audit-events", &access).await;
    assert_eq!(events.status(), 200);
    let events: Vec<Value> = events.json().await.unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e["dealership_id"] == PREMIUM_AUTO.to_string())
    );
    // the base role's, and no more: agents may not list staff
    assert_eq!(app.get_as("/api/v1/auth/me", &access).await.status(), 200);
    assert_eq!(app.get_as("/api/v1/users", &access).await.status(), 403);
    // a plain agent may not read the audit log
    let agent = token(&app, &PA_AGENT).await;
    assert_eq!(
        app.get_as("/api/v1/audit-events", &agent).await.status(),
        403
    );

    // renamed: the holder keeps it, the same token still works
    let id = role["id"].as_str().unwrap();
    let renamed = app
        .send_as(
            Method::PATCH,
            &format!("{ROLES}/{id}"),
            &principal,
            json!({"name": "compliance"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.json::<Value>().await.unwrap()["name"], "compliance");
    assert_eq!(
        app.get_as("/api/v1/audit-events", &access).await.status(),
        200
    );
    let me: Value = app
        .get_as("/api/v1/auth/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["custom_role_id"], role["id"]);

    // narrowed: the permission goes at once, on the same token
    let narrowed = app
        .send_as(
            Method::PATCH,
            &format!("{ROLES}/{id}"),
            &principal,
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(narrowed.status(), 200);
    assert_eq!(
        app.get_as("/api/v1/audit-events", &access).await.status(),
        403
    );

    // and every change is audited
    let owner = app.db.owner().await;
    let audited = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE target_id = '{id}' \
             AND action IN ('role.created', 'role.updated')"
        ),
    )
    .await;
    assert_eq!(audited, 3, "created, renamed, narrowed");
    use sea_orm::ConnectionTrait;
    let narrowing = owner
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT changes FROM audit_events WHERE target_id = '{id}' \
                 AND action = 'role.updated' AND changes ? 'permissions'"
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<Value>("", "changes")
        .unwrap();
    let permissions = &narrowing["permissions"];
    assert_eq!(permissions["added"], json!([]), "{narrowing}");
    assert_eq!(permissions["removed"], permissions["before"], "{narrowing}");
    assert!(!permissions["removed"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn escalation_attempts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let principal = token(&app, &PA_PRINCIPAL).await;
    let manager = token(&app, &PA_MANAGER).await;
    let agent = token(&app, &PA_AGENT).await;
    let admin = token(&app, &ADMIN).await;
    let named = |name: &str, base: &str, permissions: Value| json!({"name": name, "base_role": base, "permissions": permissions});

    // defining what one does not hold, or at platform scope, or above a manager's rank
    for (who, body, want) in [
        (
            &principal,
            named(
                "wrecker",
                "manager",
                json!([permission("dealerships", "delete", "dealership")]),
            ),
            403,
        ),
        (
            &principal,
            named(
                "platform",
                "agent",
                json!([permission("users", "list", "any")]),
            ),
            422,
        ),
        (
            &principal,
            named(
                "reloader",
                "agent",
                json!([permission("policies", "update", "dealership")]),
            ),
            403,
        ),
        (&principal, named("boss", "principal", json!([])), 422),
        (&principal, named("root", "admin", json!([])), 422),
        (&principal, named("manager", "agent", json!([])), 422),
        (&principal, named("Has Spaces", "agent", json!([])), 422),
        (
            &principal,
            named(
                "selfish",
                "agent",
                json!([permission("invitations", "list", "self")]),
            ),
            422,
        ),
        (
            &principal,
            named(
                "selfish",
                "agent",
                json!([permission("roles", "update", "self")]),
            ),
            422,
        ),
        (&manager, named("helper", "agent", json!([])), 403),
        (&agent, named("helper", "agent", json!([])), 403),
        (
            &admin,
            named(
                "platform",
                "agent",
                json!([permission("users", "read", "any")]),
            ),
            422,
        ),
    ] {
        let mut body = body;
        if who == &admin {
            body["dealership_id"] = json!(PREMIUM_AUTO);
        }
        assert_eq!(
            status_of(define(&app, who, body.clone()).await).await,
            want,
            "{body}"
        );
    }
    // into another dealership: not found
    let mut elsewhere = audit_reader();
    elsewhere["dealership_id"] = json!(METRO_MOTORS);
    error_of(define(&app, &principal, elsewhere).await, 404).await;
    assert_eq!(roles_in_db(&app).await, 0, "nothing was defined");

    // an admin defines a role the principal does not hold all of
    let mut strong = named(
        "closer",
        "manager",
        json!([
            permission("dealerships", "delete", "dealership"),
            permission("users", "list", "dealership"),
        ]),
    );
    strong["dealership_id"] = json!(PREMIUM_AUTO);
    let strong = defined(&app, &admin, strong).await;
    // the principal may not hand it out, to a new user, an invitation or an existing user
    error_of(
        hire(&app, &principal, "closer@premiumauto.com", "closer").await,
        403,
    )
    .await;
    let invite = json!({"email": "closer@premiumauto.com", "role": "closer"});
    error_of(
        app.send_as(Method::POST, "/api/v1/invitations", &principal, invite)
            .await,
        403,
    )
    .await;
    let agent_id = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.body["user"]["id"].clone();
    let promote = json!({"role": "closer"});
    let path = format!("/api/v1/users/{}", agent_id.as_str().unwrap());
    error_of(
        app.send_as(Method::PATCH, &path, &principal, promote).await,
        403,
    )
    .await;

    // nor rename, strip or delete it (it holds what the principal may not hand out)
    let closer_path = format!("{ROLES}/{}", strong["id"].as_str().unwrap());
    let rename = json!({"name": "reader"});
    error_of(
        app.send_as(Method::PATCH, &closer_path, &principal, rename)
            .await,
        403,
    )
    .await;
    let delete = app
        .as_user(Method::DELETE, &closer_path, &principal)
        .send()
        .await
        .unwrap();
    error_of(delete, 403).await;
    // nor send the admin's invitation for it again
    let mut admins = json!({"email": "closer@premiumauto.com", "role": "closer"});
    admins["dealership_id"] = json!(PREMIUM_AUTO);
    let admins = app
        .send_as(Method::POST, "/api/v1/invitations", &admin, admins)
        .await;
    assert_eq!(admins.status(), 201);
    let admins: Value = admins.json().await.unwrap();
    let resend = format!(
        "/api/v1/invitations/{}/resend",
        admins["id"].as_str().unwrap()
    );
    error_of(app.post_as(&resend, &principal).await, 403).await;
    // a principal's own role: widening it with what they lack is refused, narrowing is not
    let own = defined(&app, &principal, audit_reader()).await;
    let own_path = format!("{ROLES}/{}", own["id"].as_str().unwrap());
    let widen = json!({"permissions": [permission("audit_events", "list", "dealership"),
                                        permission("dealerships", "delete", "dealership")]});
    error_of(
        app.send_as(Method::PATCH, &own_path, &principal, widen)
            .await,
        403,
    )
    .await;
    let any = json!({"permissions": [permission("audit_events", "list", "any")]});
    error_of(
        app.send_as(Method::PATCH, &own_path, &principal, any).await,
        422,
    )
    .await;

    // a holder with roles:create cannot define beyond what they hold themselves
    let delegate = named(
        "delegate",
        "agent",
        json!([
            permission("roles", "create", "dealership"),
            permission("roles", "update", "dealership"),
            permission("users", "list", "dealership"),
        ]),
    );
    let delegate = defined(&app, &principal, delegate).await;
    assert_eq!(
        hire(&app, &principal, "delegate@premiumauto.com", "delegate")
            .await
            .status(),
        201
    );
    let holder = app
        .login_ok("delegate@premiumauto.com", PASSWORD)
        .await
        .access;
    let beyond = named(
        "editor",
        "agent",
        json!([permission("users", "update", "dealership")]),
    );
    error_of(define(&app, &holder, beyond).await, 403).await;
    // nor widen their own role
    let delegate_path = format!("{ROLES}/{}", delegate["id"].as_str().unwrap());
    let wider = json!({"permissions": [permission("roles", "create", "dealership"),
                                        permission("users", "update", "dealership")]});
    error_of(
        app.send_as(Method::PATCH, &delegate_path, &holder, wider)
            .await,
        403,
    )
    .await;
    // nor reshape a role of a higher base rank
    let strip = json!({"permissions": []});
    error_of(
        app.send_as(Method::PATCH, &closer_path, &holder, strip)
            .await,
        403,
    )
    .await;
    // but may define within what they hold, at their own rank
    let within = named(
        "lister",
        "agent",
        json!([permission("users", "list", "dealership")]),
    );
    assert_eq!(define(&app, &holder, within).await.status(), 201);
    let above = named("lead", "manager", json!([]));
    error_of(define(&app, &holder, above).await, 403).await;

    // an agent cannot give themselves a role, nor learn which names exist by trying
    let agent_me = format!("/api/v1/users/{}", agent_id.as_str().unwrap());
    for name in ["auditor", "no-such-role", "lister"] {
        let own = json!({"role": name});
        error_of(
            app.send_as(Method::PATCH, &agent_me, &agent, own).await,
            403,
        )
        .await;
    }
    // a lower rank cannot end a higher-rank invitation by inviting the same address
    let manager_invite = json!({"email": "twice@premiumauto.com", "role": "manager"});
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/invitations",
            &principal,
            manager_invite,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let first: Value = resp.json().await.unwrap();
    let inviter = named(
        "inviter",
        "agent",
        json!([permission("invitations", "create", "dealership")]),
    );
    defined(&app, &principal, inviter).await;
    assert_eq!(
        hire(&app, &principal, "inviter@premiumauto.com", "inviter")
            .await
            .status(),
        201
    );
    let inviter = app
        .login_ok("inviter@premiumauto.com", PASSWORD)
        .await
        .access;
    let agent_invite = json!({"email": "twice@premiumauto.com", "role": "agent"});
    let resp = app
        .send_as(Method::POST, "/api/v1/invitations", &inviter, agent_invite)
        .await;
    assert_eq!(resp.status(), 201);
    let pending: Vec<Value> = app
        .get_as("/api/v1/invitations?status=pending", &principal)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        pending.iter().any(|i| i["id"] == first["id"]),
        "the manager invitation is still pending: {pending:?}"
    );

    // nothing changed by the refusals
    let owner = app.db.owner().await;
    assert_eq!(
        roles_in_db(&app).await,
        5,
        "closer, auditor, delegate, lister, inviter"
    );
    let perms = count(
        &owner,
        &format!(
            "SELECT count(*) AS n FROM custom_roles WHERE id IN ('{}', '{}') \
             AND permissions IN ('{{audit_events:list:dealership}}', \
             '{{users:list:dealership,roles:create:dealership,roles:update:dealership}}')",
            own["id"].as_str().unwrap(),
            delegate["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(perms, 2, "the refused edits wrote nothing");
    let closers = count(
        &owner,
        &format!(
            "SELECT (SELECT count(*) FROM users WHERE custom_role_id = '{0}') \
             + (SELECT count(*) FROM invitations WHERE custom_role_id = '{0}' \
                AND updated_at = created_at) AS n",
            strong["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        closers, 1,
        "only the admin's invitation holds the role, never resent"
    );
}

#[tokio::test]
async fn another_dealerships_roles_are_invisible_and_cannot_be_handed_out() {
    let app = spawn_app().await;
    let pa = token(&app, &PA_PRINCIPAL).await;
    let mm = token(&app, &MM_PRINCIPAL).await;
    let admin = token(&app, &ADMIN).await;
    let role = defined(&app, &pa, audit_reader()).await;
    let path = format!("{ROLES}/{}", role["id"].as_str().unwrap());

    let listed: Vec<Value> = app.get_as(ROLES, &mm).await.json().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let filtered = format!("{ROLES}?dealership_id={PREMIUM_AUTO}");
    let listed: Vec<Value> = app.get_as(&filtered, &mm).await.json().await.unwrap();
    assert!(
        listed.is_empty(),
        "a principal's filter is their own dealership: {listed:?}"
    );
    error_of(app.get_as(&path, &mm).await, 404).await;
    let rename = json!({"name": "hijacked"});
    error_of(app.send_as(Method::PATCH, &path, &mm, rename).await, 404).await;
    error_of(
        app.as_user(Method::DELETE, &path, &mm)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    // Metro's principal cannot give Premium Auto's role to Metro staff: the name is unknown
    let refused = hire(&app, &mm, "spy@metromotors.com", "auditor").await;
    let body = error_of(refused, 422).await;
    assert_eq!(body["details"][0]["field"], "role", "{body}");
    // nor can an admin put a Metro user in it (the database refuses it too)
    let mut cross = json!({"email": "spy@metromotors.com", "password": PASSWORD,
        "first_name": "Cross", "last_name": "Tenant", "role": "auditor"});
    cross["dealership_id"] = json!(METRO_MOTORS);
    error_of(
        app.send_as(Method::POST, "/api/v1/users", &admin, cross)
            .await,
        422,
    )
    .await;
    let invite = json!({"email": "spy@metromotors.com", "role": "auditor"});
    error_of(
        app.send_as(Method::POST, "/api/v1/invitations", &mm, invite)
            .await,
        422,
    )
    .await;

    // the admin sees both dealerships' roles, and filters
    let same_name = json!({"name": "auditor", "base_role": "manager", "permissions": []});
    assert_eq!(
        define(&app, &mm, same_name).await.status(),
        201,
        "names are per dealership"
    );
    let all: Vec<Value> = app.get_as(ROLES, &admin).await.json().await.unwrap();
    assert_eq!(all.len(), 2);
    let pa_only: Vec<Value> = app.get_as(&filtered, &admin).await.json().await.unwrap();
    assert_eq!(pa_only.len(), 1);
    assert_eq!(pa_only[0]["id"], role["id"]);
    // and the policy in force lists them with their dealership
    let policy: Value = app
        .get_as("/api/v1/admin/policies", &admin)
        .await
        .json()
        .await
        .unwrap();
    let merged = policy["custom_roles"].as_array().unwrap();
    assert_eq!(merged.len(), 2, "{policy}");
    assert!(merged.iter().any(|r| r["id"] == role["id"]
        && r["dealership_id"] == PREMIUM_AUTO.to_string()
        && r["name"] == "auditor"));

    // the runtime role sees only the tenant's rows, whatever the query
    let tx = app
        .db
        .login_pool(1)
        .await
        .begin_reading(dealergate::testing::Scope::Dealership(METRO_MOTORS))
        .await
        .unwrap();
    let seen = count(&tx, "SELECT count(*) AS n FROM custom_roles").await;
    tx.commit().await.unwrap();
    assert_eq!(seen, 1, "Metro's transaction sees Metro's role only");
}

#[tokio::test]
async fn a_held_role_cannot_be_deleted_and_the_refusal_says_how_many_hold_it() {
    let app = spawn_app().await;
    let principal = token(&app, &PA_PRINCIPAL).await;
    let role = defined(&app, &principal, audit_reader()).await;
    let path = format!("{ROLES}/{}", role["id"].as_str().unwrap());
    let holder: Value = hire(&app, &principal, "held@premiumauto.com", "auditor")
        .await
        .json()
        .await
        .unwrap();
    let gone: Value = hire(&app, &principal, "gone@premiumauto.com", "auditor")
        .await
        .json()
        .await
        .unwrap();
    let invite = json!({"email": "invited@premiumauto.com", "role": "auditor"});
    let invited = app
        .send_as(Method::POST, "/api/v1/invitations", &principal, invite)
        .await;
    assert_eq!(invited.status(), 201);
    let invited: Value = invited.json().await.unwrap();
    assert_eq!(invited["custom_role_id"], role["id"]);

    let delete = || app.as_user(Method::DELETE, &path, &principal).send();
    let body = error_of(delete().await.unwrap(), 409).await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("2 user(s), 1 pending invitation(s)"),
        "{body}"
    );

    // a deleted user lets go of it; a role change and a revocation free the rest
    let user_path = |u: &Value| format!("/api/v1/users/{}", u["id"].as_str().unwrap());
    let resp = app
        .as_user(Method::DELETE, &user_path(&gone), &principal)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let body = error_of(delete().await.unwrap(), 409).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("1 user(s), 1 pending"),
        "{body}"
    );
    let demote = json!({"role": "agent"});
    let resp = app
        .send_as(Method::PATCH, &user_path(&holder), &principal, demote)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["custom_role_id"],
        Value::Null
    );
    let revoke = format!("/api/v1/invitations/{}", invited["id"].as_str().unwrap());
    assert_eq!(
        app.as_user(Method::DELETE, &revoke, &principal)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    assert_eq!(delete().await.unwrap().status(), 204);
    error_of(app.get_as(&path, &principal).await, 404).await;
    assert_eq!(roles_in_db(&app).await, 0);
    let owner = app.db.owner().await;
    let audited = count(&owner, &format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'role.deleted' AND target_id = '{}'",
        role["id"].as_str().unwrap()
    )).await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_invitation_with_a_custom_role_signs_up_a_holder() {
    let (app, smtp) = crate::helpers::smtp::mailing_app(|_| {}).await;
    let principal = token(&app, &PA_PRINCIPAL).await;
    let role = defined(&app, &principal, audit_reader()).await;
    let invite = json!({"email": "joiner@premiumauto.com", "role": "auditor"});
    let resp = app
        .send_as(Method::POST, "/api/v1/invitations", &principal, invite)
        .await;
    assert_eq!(resp.status(), 201);
    let mails = smtp
        .wait_for("joiner@premiumauto.com", 1, Duration::from_secs(10))
        .await;
    assert!(
        mails[0].text().contains("auditor"),
        "the message names the role"
    );
    let signup = json!({"invitation_token": mails[0].token(), "password": PASSWORD,
                        "first_name": "Jo", "last_name": "Iner"});
    let resp = app.post_json("/api/v1/auth/signup", signup).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["custom_role_id"], role["id"]);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_as("/api/v1/audit-events", access).await.status(),
        200
    );
}

#[tokio::test]
async fn a_role_change_reaches_a_second_replica_without_a_restart() {
    let a = spawn_app().await;
    let b = a.spawn_replica().await;
    let principal = token(&a, &PA_PRINCIPAL).await;
    let role = defined(
        &a,
        &principal,
        json!({"name": "pending", "base_role": "agent", "permissions": []}),
    )
    .await;
    assert_eq!(
        hire(&a, &principal, "later@premiumauto.com", "pending")
            .await
            .status(),
        201
    );
    let holder = b.login_ok("later@premiumauto.com", PASSWORD).await.access;
    assert_eq!(
        b.get_as("/api/v1/audit-events", &holder).await.status(),
        403
    );

    // widened through replica A: replica B lets the holder in, same token
    let path = format!("{ROLES}/{}", role["id"].as_str().unwrap());
    let widen = json!({"permissions": [permission("audit_events", "list", "dealership")]});
    let started = Instant::now();
    assert_eq!(
        a.send_as(Method::PATCH, &path, &principal, widen)
            .await
            .status(),
        200
    );
    let took = until_status(&b, &holder, 200, started).await;
    eprintln!("replica B allowed the widened role {took:?} after the PATCH was sent");

    // narrowed by an operator in SQL: the trigger tells every replica
    let started = Instant::now();
    exec(
        &a.db.owner().await,
        &format!(
            "UPDATE custom_roles SET permissions = '{{}}' WHERE id = '{}'",
            role["id"].as_str().unwrap()
        ),
    )
    .await;
    let took = until_status(&b, &holder, 403, started).await;
    eprintln!("replica B refused the narrowed role {took:?} after the SQL update");
    assert_eq!(
        a.get_as("/api/v1/audit-events", &holder).await.status(),
        403
    );
}

/// Polls replica `app` (every 10 ms, for at most 5 s) until the audit log answers `want`.
async fn until_status(app: &TestApp, token: &str, want: u16, started: Instant) -> Duration {
    loop {
        if app.get_as("/api/v1/audit-events", token).await.status() == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "replica B still answers otherwise than {want} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn narrowing_a_role_revokes_the_invitations_its_holders_sent() {
    let app = spawn_app().await;
    let principal = token(&app, &PA_PRINCIPAL).await;
    let inviting = json!({"name": "recruiter", "base_role": "agent",
        "permissions": [permission("invitations", "create", "dealership")]});
    let role = defined(&app, &principal, inviting).await;
    assert_eq!(
        hire(&app, &principal, "recruiter@premiumauto.com", "recruiter")
            .await
            .status(),
        201
    );
    let recruiter = app
        .login_ok("recruiter@premiumauto.com", PASSWORD)
        .await
        .access;
    let invite = json!({"email": "recruit@premiumauto.com", "role": "agent"});
    let resp = app
        .send_as(Method::POST, "/api/v1/invitations", &recruiter, invite)
        .await;
    assert_eq!(resp.status(), 201);
    let sent: Value = resp.json().await.unwrap();

    // renaming keeps it; taking the permission away ends it
    let path = format!("{ROLES}/{}", role["id"].as_str().unwrap());
    let rename = json!({"name": "talent"});
    assert_eq!(
        app.send_as(Method::PATCH, &path, &principal, rename)
            .await
            .status(),
        200
    );
    let status = |list: Vec<Value>| {
        list.into_iter()
            .find(|i| i["id"] == sent["id"])
            .map(|i| i["status"].clone())
    };
    let listed = app.get_as("/api/v1/invitations", &principal).await;
    assert_eq!(status(listed.json().await.unwrap()), Some(json!("pending")));
    let narrow = json!({"permissions": []});
    assert_eq!(
        app.send_as(Method::PATCH, &path, &principal, narrow)
            .await
            .status(),
        200
    );
    let listed = app.get_as("/api/v1/invitations", &principal).await;
    assert_eq!(status(listed.json().await.unwrap()), Some(json!("revoked")));
}
