//! The console's dealership pages: custom roles (a permissions grid bounded by what the caller
//! holds), the dealership's profile and MFA requirement, and the audit log with its filters —
//! each through the same services, policy and audit as the API, never another tenant's data.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    METRO_MOTORS, MM_PRINCIPAL, PA_AGENT, PA_OWNER, PA_PRINCIPAL, PREMIUM_AUTO, PREMIUM_AUTO_NORTH,
    TestApp, console::Console, count, spawn_app,
};

async fn principal(app: &TestApp) -> Console {
    Console::signed_in(app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await
}

async fn sql_count(app: &TestApp, sql: &str) -> i64 {
    count(&app.db.owner().await, sql).await
}

/// Posts the new-role form of `/console/roles` (read first, for its token).
async fn define(
    console: &mut Console,
    name: &str,
    permissions: &[&str],
) -> crate::helpers::console::Page {
    console.get("/console/roles").await;
    let mut fields = vec![("name", name), ("base_role", "agent")];
    fields.extend(permissions.iter().map(|p| ("permission", *p)));
    console.post("/console/roles", &fields).await
}

/// A role Metro Motors' principal defines through the API; its id.
async fn metro_role(app: &TestApp) -> String {
    let token = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await
        .access;
    let body = json!({"name": "metro-only", "base_role": "agent",
                      "permissions": [{"resource": "users", "action": "list", "scope": "dealership"}]});
    let resp = app
        .send_as(Method::POST, "/api/v1/roles", &token, body)
        .await;
    assert_eq!(resp.status(), 201);
    let role: Value = resp.json().await.unwrap();
    role["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_principal_creates_a_custom_role_through_the_grid_and_it_is_defined_and_audited() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get("/console/roles").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(r#"value="audit_events:list:dealership""#)
    );
    assert!(
        page.shows("Audit events: list, whole dealership"),
        "each box is labelled"
    );
    assert!(page.body.contains(r#"<th scope="row">Users</th>"#));

    let created = define(
        &mut console,
        "auditor",
        &["audit_events:list:dealership", "users:read:self"],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location.as_deref(), Some("/console/roles"));
    let list = console.follow(&created).await;
    assert!(list.shows("Role auditor created."), "{}", list.body);
    assert!(list.shows("Audit events: list (whole dealership)"));

    let token = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let roles: Value = app
        .get_as("/api/v1/roles", &token)
        .await
        .json()
        .await
        .unwrap();
    let role = &roles[0];
    assert_eq!(role["name"], "auditor");
    assert_eq!(role["dealership_id"], PREMIUM_AUTO.to_string());
    assert_eq!(
        role["permissions"].as_array().map(Vec::len),
        Some(2),
        "{role}"
    );
    let audited = sql_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'role.created' \
             AND dealership_id = '{PREMIUM_AUTO}' AND actor_id = '{}' AND target_id = '{}'",
            PA_PRINCIPAL.id,
            role["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(audited, 1);

    // its page: the grid ticked as the role holds it, and the confirmation before deleting
    let edit = console
        .get(&format!("/console/roles/{}", role["id"].as_str().unwrap()))
        .await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains(r#"value="audit_events:list:dealership" aria-label="Audit events: list, whole dealership" checked"#), "{}", edit.body);
    assert!(edit.body.contains(r#"<details class="confirm">"#));
}

#[tokio::test]
async fn a_permission_the_principal_does_not_hold_is_not_offered_and_a_forged_one_is_refused() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get("/console/roles").await;
    for not_held in ["dealerships:delete:dealership", "policies:read:dealership"] {
        assert!(!page.body.contains(not_held), "{not_held} is offered");
    }
    assert!(!page.body.contains(":any\""), "nothing at platform scope");

    let forged = define(&mut console, "deleter", &["dealerships:delete:dealership"]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(
        forged.shows("not allowed"),
        "the API's words: {}",
        forged.body
    );
    assert_eq!(
        sql_count(&app, "SELECT count(*) AS n FROM custom_roles").await,
        0
    );
}

#[tokio::test]
async fn a_duplicate_or_malformed_role_name_is_shown_on_the_form() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let first = define(&mut console, "auditor", &["audit_events:list:dealership"]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);

    let again = define(&mut console, "auditor", &["audit_events:list:dealership"]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.shows("A role of this name in the dealership already exists."),
        "{}",
        again.body
    );
    assert!(
        again
            .body
            .contains(r#"name="name" type="text" value="auditor""#),
        "kept"
    );
    assert!(again.body.contains(r#"value="audit_events:list:dealership" aria-label="Audit events: list, whole dealership" checked"#));

    let malformed = define(&mut console, "Not A Name!", &[]).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        malformed.body.contains(r#"id="e-name""#),
        "{}",
        malformed.body
    );
    assert_eq!(
        sql_count(&app, "SELECT count(*) AS n FROM custom_roles").await,
        1
    );
}

#[tokio::test]
async fn the_dealership_page_saves_a_new_name_and_the_mfa_requirement() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    let page = console.get("/console/dealership").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Premium Auto") && page.body.contains(r#"name="mfa_required""#));
    let action = format!("/console/dealership/{PREMIUM_AUTO}");

    let wrong = [
        ("name", "Premium Auto"),
        ("contact_email", "not an address"),
    ];
    let refused = console.post(&action, &wrong).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(r#"id="e-contact_email""#),
        "{}",
        refused.body
    );

    let fields = [
        ("name", "Premium Auto Sales"),
        ("contact_email", "sales@premiumauto.com"),
        ("mfa_required", "true"),
    ];
    let saved = console.post(&action, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some("/console/dealership"));
    let stored = sql_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM dealerships WHERE id = '{PREMIUM_AUTO}' AND \
             name = 'Premium Auto Sales' AND mfa_required AND contact_email = 'sales@premiumauto.com'"
        ),
    )
    .await;
    assert_eq!(stored, 1);
    let audited = sql_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'dealership.updated' \
             AND target_id = '{PREMIUM_AUTO}' AND changes ? 'mfa_required' AND changes ? 'name'"
        ),
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn another_dealerships_id_gives_the_not_found_page_and_changes_nothing() {
    let app = spawn_app().await;
    let metro_role = metro_role(&app).await;
    let mut console = principal(&app).await;
    let metro = console
        .get(&format!("/console/dealership/{METRO_MOTORS}"))
        .await;
    assert_eq!(metro.status, StatusCode::NOT_FOUND);
    assert!(metro.shows("Not found") && !metro.shows("Metro Motors"));
    console.get("/console/dealership").await;
    let post = console
        .post(
            &format!("/console/dealership/{METRO_MOTORS}"),
            &[("name", "Taken Over")],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    let role = console.get(&format!("/console/roles/{metro_role}")).await;
    assert_eq!(role.status, StatusCode::NOT_FOUND);
    assert!(!role.shows("metro-only"));
    let renamed = sql_count(
        &app,
        "SELECT count(*) AS n FROM dealerships WHERE name = 'Taken Over'",
    )
    .await;
    assert_eq!(renamed, 0);
}

#[tokio::test]
async fn a_group_principal_sees_the_groups_rooftops_each_on_its_own_page() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_OWNER.email, PA_OWNER.password).await;
    let page = console.get("/console/dealership").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for rooftop in [PREMIUM_AUTO, PREMIUM_AUTO_NORTH] {
        assert!(
            page.body
                .contains(&format!("/console/dealership/{rooftop}"))
        );
    }
    assert!(!page.body.contains(&METRO_MOTORS.to_string()) && !page.shows("Metro Motors"));
    let north = console
        .get(&format!("/console/dealership/{PREMIUM_AUTO_NORTH}"))
        .await;
    assert_eq!(north.status, StatusCode::OK);
    assert!(north.shows("Premium Auto North"));
    let metro = console
        .get(&format!("/console/dealership/{METRO_MOTORS}"))
        .await;
    assert_eq!(metro.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_page_shows_the_principals_events_never_another_dealerships_and_filters_in_place()
{
    let app = spawn_app().await;
    let metro_role = metro_role(&app).await;
    let mut console = principal(&app).await;
    assert_eq!(
        define(&mut console, "auditor", &[]).await.status,
        StatusCode::SEE_OTHER
    );

    let page = console.get("/console/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("role.created") && page.shows("login.succeeded"));
    assert!(page.body.contains(&PA_PRINCIPAL.id.to_string()));
    assert!(
        page.shows(r#""name":"auditor""#) && page.shows(r#""permissions":[]"#),
        "changes as compact JSON, escaped: {}",
        page.body
    );
    assert!(
        page.body.contains(r##"hx-target="#audit-results""##)
            && page.body.contains(r#"hx-push-url="true""#)
    );
    for metro in [MM_PRINCIPAL.id.to_string(), metro_role.clone()] {
        assert!(!page.body.contains(&metro), "Metro Motors' event shown");
    }

    let filtered = console.get("/console/audit?action=role.created").await;
    assert!(filtered.shows("role.created") && !filtered.shows("login.succeeded"));
    assert!(
        filtered.body.contains(r#"value="role.created""#),
        "the filter is kept"
    );

    let partial = console
        .get_partial("/console/audit?action=role.created")
        .await;
    assert_eq!(partial.status, StatusCode::OK);
    assert!(partial.shows("role.created") && !partial.shows("login.succeeded"));
    assert!(!partial.body.contains("<html") && !partial.body.contains("<nav class=\"side\""));
    assert!(!partial.body.contains(&metro_role));

    let nonsense = console.get("/console/audit?actor_id=nobody").await;
    assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nonsense.body.contains(r#"id="e-actor_id""#),
        "{}",
        nonsense.body
    );
}

#[tokio::test]
async fn an_admin_reads_the_platforms_audit_log_by_dealership() {
    let app = spawn_app().await;
    let metro_role = metro_role(&app).await;
    let mut console = Console::signed_in(
        &app,
        crate::helpers::ADMIN.email,
        crate::helpers::ADMIN.password,
    )
    .await;
    let all = console.get("/console/audit?action=role.created").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains(&metro_role) && all.body.contains(r#"name="dealership_id""#));
    let premium = console
        .get(&format!(
            "/console/audit?action=role.created&dealership_id={PREMIUM_AUTO}"
        ))
        .await;
    assert!(!premium.body.contains(&metro_role));
}

#[tokio::test]
async fn an_agent_gets_the_not_allowed_page_for_roles_and_audit() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    for path in ["/console/roles", "/console/audit"] {
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.shows("Not allowed"), "{path}: {}", page.body);
    }
    console.get("/console").await;
    let post = define(&mut console, "sneaky", &[]).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_eq!(
        sql_count(&app, "SELECT count(*) AS n FROM custom_roles").await,
        0
    );
}

#[tokio::test]
async fn a_role_is_renamed_given_new_permissions_and_deleted_through_its_page() {
    let app = spawn_app().await;
    let mut console = principal(&app).await;
    define(&mut console, "auditor", &["audit_events:list:dealership"]).await;
    assert_eq!(
        sql_count(&app, "SELECT count(*) AS n FROM custom_roles").await,
        1
    );
    let list = console.get("/console/roles").await;
    let at = list.body.find("/console/roles/").unwrap() + "/console/roles/".len();
    let id = list.body[at..at + 36].to_owned();
    let path = format!("/console/roles/{id}");

    console.get(&path).await;
    let fields = [("name", "lister"), ("permission", "users:list:dealership")];
    let saved = console.post(&path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(console.follow(&saved).await.shows("Role lister saved."));
    let stored = sql_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM custom_roles WHERE id = '{id}' AND name = 'lister' \
             AND permissions = ARRAY['users:list:dealership']"
        ),
    )
    .await;
    assert_eq!(stored, 1);

    let deleted = console.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(deleted.location.as_deref(), Some("/console/roles"));
    assert!(console.follow(&deleted).await.shows("Role deleted."));
    let events = sql_count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE target_id = '{id}' \
             AND action IN ('role.updated', 'role.deleted')"
        ),
    )
    .await;
    assert_eq!(events, 2);
    assert_eq!(console.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_tenant_an_admin_creates_a_role_for_a_dealership_chosen_from_a_list() {
    let app = crate::helpers::spawn_app().await;
    let mut console = crate::helpers::console::Console::signed_in(
        &app,
        crate::helpers::ADMIN.email,
        crate::helpers::ADMIN.password,
    )
    .await;
    let page = console.get("/console/roles").await;
    assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
    let metro = crate::helpers::METRO_MOTORS.to_string();
    assert!(
        page.body
            .contains(&format!("<option value=\"{metro}\">Metro Motors</option>")),
        "{}",
        page.body
    );
    let created = console
        .post(
            "/console/roles",
            &[
                ("name", "metro_desk"),
                ("base_role", "agent"),
                ("dealership_id", &metro),
            ],
        )
        .await;
    assert_eq!(
        created.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        created.body
    );
    let owner = app.db.owner().await;
    let made = format!(
        "SELECT count(*) AS n FROM custom_roles WHERE name = 'metro_desk' \
         AND dealership_id = '{metro}'"
    );
    assert_eq!(crate::helpers::count(&owner, &made).await, 1);
}
