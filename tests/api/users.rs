//! Managing staff: the directory, creation, edits, the rank rule, soft delete.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, Case, DEMO_USERS, METRO_MOTORS, MM_AGENT, MM_MANAGER, MM_PRINCIPAL, PA_AGENT,
    PA_MANAGER, PA_MANAGER_NORTH, PA_OWNER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, Tokens, Want,
    case, check_cases, count, error_of,
    probes::{CACHED_PROBE, probe, sessions_where},
    spawn_app, users,
};

async fn id_of(app: &TestApp, email: &str) -> String {
    let owner = app.db.owner().await;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    owner
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id::text AS id FROM users WHERE email = $1 AND deleted_at IS NULL",
            [email.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "id")
        .unwrap()
}

/// `want`, and Olivia's group membership (an admin sees every membership) after it.
fn and_group(want: Want) -> Want {
    match want {
        Want::Ids(mut ids) => {
            ids.push(PA_OWNER.id);
            Want::Ids(ids)
        }
        other => other,
    }
}

/// `want`, and Mark's membership at Premium Auto North after it.
fn and_north(want: Want) -> Want {
    match want {
        Want::Ids(mut ids) => {
            ids.push(PA_MANAGER_NORTH);
            Want::Ids(ids)
        }
        other => other,
    }
}

fn new_user(email: &str, role: &str) -> Value {
    json!({"email": email, "password": "a fine passphrase", "first_name": "New", "last_name": "Hire", "role": role})
}

#[tokio::test]
async fn the_directory_filters_by_role_activity_dealership_and_search_and_the_count_agrees() {
    let app = spawn_app().await;
    let premium = [PA_PRINCIPAL, PA_MANAGER, PA_AGENT];
    let metro = [MM_PRINCIPAL, MM_MANAGER, MM_AGENT];
    let in_metro = format!("dealership_id={METRO_MOTORS}");
    #[rustfmt::skip]
    let mut cases = vec![
        // the platform admin: every live user, narrowed by each filter and by several at once
        // Mark's second membership (Premium Auto North) is a row of its own, seeded last
        case(&ADMIN, "/api/v1/users", and_group(and_north(users(DEMO_USERS)))),
        case(&ADMIN, "/api/v1/users?is_active=true", and_group(and_north(users(DEMO_USERS)))),
        case(&ADMIN, "/api/v1/users?is_active=false", users(&[])),
        case(&ADMIN, "/api/v1/users?role=admin", users(&[ADMIN])),
        case(&ADMIN, "/api/v1/users?role=agent", users(&[PA_AGENT, MM_AGENT])),
        case(&ADMIN, format!("/api/v1/users?dealership_id={PREMIUM_AUTO}"), users(&premium)),
        case(&ADMIN, format!("/api/v1/users?{in_metro}&role=agent"), users(&[MM_AGENT])),
        // q: first name, last name or email, in any case
        case(&ADMIN, "/api/v1/users?q=PREMIUMAUTO", and_group(and_north(users(&premium)))),
        case(&ADMIN, "/api/v1/users?q=metro", users(&metro)),
        case(&ADMIN, "/api/v1/users?q=paula", users(&[PA_PRINCIPAL])),
        case(&ADMIN, "/api/v1/users?q=premium&role=manager", and_north(users(&[PA_MANAGER]))),
        // LIKE wildcards in q are literal
        case(&ADMIN, "/api/v1/users?q=%25", users(&[])),
        case(&ADMIN, "/api/v1/users?q=_", users(&[])),
        // within a dealership: its own staff only, whatever dealership_id asks for
        case(&PA_PRINCIPAL, "/api/v1/users", users(&premium)),
        case(&PA_MANAGER, "/api/v1/users", users(&premium)),
        case(&MM_PRINCIPAL, "/api/v1/users", users(&metro)),
        case(&PA_PRINCIPAL, format!("/api/v1/users?{in_metro}"), users(&premium)),
        case(&PA_PRINCIPAL, "/api/v1/users?q=metro", users(&[])),
        case(&PA_PRINCIPAL, "/api/v1/users?role=admin", users(&[])),
        case(&PA_MANAGER, "/api/v1/users?role=principal", users(&[PA_PRINCIPAL])),
    ];
    // every row above is asked of /users/count as well, which must count the same users
    let counts: Vec<Case> = cases
        .iter()
        .filter_map(|c| match &c.want {
            Want::Ids(ids) => Some(case(
                c.caller,
                c.path.replacen("/api/v1/users", "/api/v1/users/count", 1),
                Want::Count(ids.len() as u64),
            )),
            _ => None,
        })
        .collect();
    cases.extend(counts);
    #[rustfmt::skip]
    let refused = [
        case(&ADMIN, "/api/v1/users?role=emperor", Want::Refused(400)),
        case(&ADMIN, "/api/v1/users/count?role=emperor", Want::Refused(400)),
        case(&PA_AGENT, "/api/v1/users", Want::Refused(403)),
        case(&PA_AGENT, "/api/v1/users/count", Want::Refused(403)),
    ];
    cases.extend(refused);
    check_cases(&app, &cases).await;
}

#[tokio::test]
async fn the_directory_pages_by_limit_and_offset_and_counts_every_match() {
    let app = spawn_app().await;
    use Want::{Invalid, Page};
    #[rustfmt::skip]
    let cases = [
        // Page(rows of the unpaged answer, X-Total-Count)
        // eight demo people, one of them in two dealerships, one in a group: nine memberships
        case(&ADMIN, "/api/v1/users?limit=2&offset=1", Page(1..3, 9)),
        case(&ADMIN, "/api/v1/users?limit=1", Page(0..1, 9)),
        case(&ADMIN, "/api/v1/users?offset=5", Page(5..9, 9)),
        // past the end: no rows, every match still counted
        case(&ADMIN, "/api/v1/users?offset=9", Page(9..9, 9)),
        case(&ADMIN, "/api/v1/users?limit=100&offset=1000000", Page(9..9, 9)),
        // the total counts the filtered matches, not the page
        case(&ADMIN, "/api/v1/users?role=agent&limit=1&offset=1", Page(1..2, 2)),
        case(&PA_PRINCIPAL, "/api/v1/users?limit=2", Page(0..2, 3)),
        case(&PA_PRINCIPAL, "/api/v1/users?offset=2", Page(2..3, 3)),
        // limit is 1 to 100, offset 0 to 1000000
        case(&ADMIN, "/api/v1/users?limit=0", Invalid(&["limit"])),
        case(&ADMIN, "/api/v1/users?limit=101", Invalid(&["limit"])),
        case(&ADMIN, "/api/v1/users?offset=-1", Invalid(&["offset"])),
        case(&ADMIN, "/api/v1/users?offset=1000001", Invalid(&["offset"])),
        case(&ADMIN, "/api/v1/users?limit=0&offset=-1", Invalid(&["limit", "offset"])),
    ];
    check_cases(&app, &cases).await;
}

#[tokio::test]
async fn users_are_created_with_validation_conflicts_and_an_audit_event() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let create = |body: Value| {
        app.as_user(Method::POST, "/api/v1/users", &principal)
            .json(&body)
            .send()
    };
    let created = create(new_user("New.Hire@PremiumAuto.com", "manager"))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["email"], "new.hire@premiumauto.com");
    assert_eq!(user["dealership_id"], PREMIUM_AUTO.to_string());
    app.login_ok("new.hire@premiumauto.com", "a fine passphrase")
        .await;

    let duplicate = create(new_user("NEW.HIRE@premiumauto.com", "agent"))
        .await
        .unwrap();
    assert_eq!(error_of(duplicate, 409).await["type"], "conflict");
    let invalid = create(json!({"email": "nope", "password": "short", "first_name": "", "last_name": "X", "role": "agent"})).await.unwrap();
    let fields: Vec<Value> = error_of(invalid, 422).await["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [json!("email"), json!("password"), json!("first_name")]
    );

    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let no_dealership = app
        .as_user(Method::POST, "/api/v1/users", &admin)
        .json(&new_user("x@example.com", "agent"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(no_dealership, 422).await["details"][0]["field"],
        "dealership_id"
    );
    let mut admin_with_dealership = new_user("y@example.com", "admin");
    admin_with_dealership["dealership_id"] = json!(PREMIUM_AUTO);
    error_of(
        app.as_user(Method::POST, "/api/v1/users", &admin)
            .json(&admin_with_dealership)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    let owner = app.db.owner().await;
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE action = 'user.created'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE changes::text LIKE '%fine passphrase%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn nobody_acts_above_their_rank_and_nothing_changes_when_refused() {
    let app = spawn_app().await;
    let owner = app.db.owner().await;
    let snapshot = "SELECT count(*) AS n FROM users";
    let before = count(&owner, snapshot).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let manager = app
        .login_ok(PA_MANAGER.email, PA_MANAGER.password)
        .await
        .access;
    let agent_id = id_of(&app, PA_AGENT.email).await;
    let admin_id = id_of(&app, ADMIN.email).await;

    let create_admin = app
        .as_user(Method::POST, "/api/v1/users", &principal)
        .json(&new_user("boss@premiumauto.com", "admin"))
        .send()
        .await
        .unwrap();
    error_of(create_admin, 403).await;
    let promote = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{agent_id}"),
            &principal,
        )
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    error_of(promote, 403).await;
    // admins are platform users: invisible to a principal, so editing one finds nothing
    let edit_admin = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            &principal,
        )
        .json(&json!({"first_name": "Owned"}))
        .send()
        .await
        .unwrap();
    error_of(edit_admin, 404).await;
    let toggle_admin = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}/toggle-active"),
            &principal,
        )
        .send()
        .await
        .unwrap();
    error_of(toggle_admin, 404).await;
    for role in ["agent", "manager", "principal"] {
        let by_manager = app
            .as_user(Method::POST, "/api/v1/users", &manager)
            .json(&new_user(&format!("{role}2@premiumauto.com"), role))
            .send()
            .await
            .unwrap();
        error_of(by_manager, 403).await;
    }
    assert_eq!(count(&owner, snapshot).await, before);
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM users WHERE role = 'admin'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM users WHERE first_name = 'Owned' OR NOT is_active"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM audit_events WHERE action LIKE 'user.%'"
        )
        .await,
        0
    );
}

/// `tokens` (of `user_id`) is finished where it matters: the cached session state is dropped
/// (a route that trusts the cache refuses the access token), the refresh token is refused, and
/// every stored session of the user is revoked.
async fn assert_ended(app: &TestApp, tokens: &Tokens, user_id: &str, what: &str) {
    let probed = app.get_as(CACHED_PROBE, &tokens.access).await;
    assert_eq!(
        probed.status(),
        401,
        "{what}: the cached session is dropped"
    );
    error_of(probed, 401).await;
    error_of(app.refresh(&tokens.refresh).await, 401).await;
    let owner = app.db.owner().await;
    let (stored, live) = sessions_where(&owner, &format!("user_id = '{user_id}'")).await;
    assert!(stored >= 1, "{what}: the user had sessions");
    assert_eq!(live, 0, "{what}: every session of the user is revoked");
}

#[tokio::test]
async fn a_role_change_deactivation_or_deletion_ends_the_users_tokens_at_once() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let manager_id = id_of(&app, PA_MANAGER.email).await;
    let agent_id = id_of(&app, PA_AGENT.email).await;

    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &manager.access)
            .await
            .status(),
        200
    );
    assert_eq!(probe(&app, &manager.access).await, 200, "cached");
    let demoted = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{manager_id}"),
            &principal,
        )
        .json(&json!({"role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), 200);
    error_of(app.get_as("/api/v1/auth/me", &manager.access).await, 401).await;
    assert_ended(&app, &manager, &manager_id, "role change").await;

    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent.access).await.status(),
        200
    );
    assert_eq!(probe(&app, &agent.access).await, 200, "cached");
    let toggled = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{agent_id}/toggle-active"),
            &principal,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(toggled.json::<Value>().await.unwrap()["is_active"], false);
    error_of(app.get_as("/api/v1/auth/me", &agent.access).await, 401).await;
    assert_ended(&app, &agent, &agent_id, "deactivation").await;
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 401).await;
    let back = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{agent_id}/toggle-active"),
            &principal,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(back.json::<Value>().await.unwrap()["is_active"], true);
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(probe(&app, &agent.access).await, 200, "cached");

    let deleted = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/users/{agent_id}"),
            &principal,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    error_of(app.get_as("/api/v1/auth/me", &agent.access).await, 401).await;
    assert_ended(&app, &agent, &agent_id, "deletion").await;
    error_of(
        app.get_as(&format!("/api/v1/users/{agent_id}"), &principal)
            .await,
        404,
    )
    .await;
    // the email is free again
    let again = app
        .as_user(Method::POST, "/api/v1/users", &principal)
        .json(&new_user(PA_AGENT.email, "agent"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
}

#[tokio::test]
async fn revoking_a_users_sessions_ends_them_on_the_next_request() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent.access).await.status(),
        200
    );
    let agent_id = id_of(&app, PA_AGENT.email).await;
    let revoked = app
        .post_as(
            &format!("/api/v1/users/{agent_id}/sessions/revoke"),
            &principal,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    error_of(app.get_as("/api/v1/auth/me", &agent.access).await, 401).await;
    error_of(app.refresh(&agent.refresh).await, 401).await;
}

#[tokio::test]
async fn on_themselves_staff_change_only_their_profile() {
    let app = spawn_app().await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let me = agent.body["user"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{me}");
    let named = app
        .as_user(Method::PATCH, &path, &agent.access)
        .json(&json!({"first_name": "Ally"}))
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 200);
    for body in [
        json!({"email": "mine@example.com"}),
        json!({"role": "agent"}),
        json!({"is_active": true}),
    ] {
        let refused = app
            .as_user(Method::PATCH, &path, &agent.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        error_of(refused, 403).await;
    }
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn an_admin_ending_staff_sessions_shows_in_the_dealerships_audit_log() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let agent_id = id_of(&app, PA_AGENT.email).await;
    assert_eq!(
        app.post_as(&format!("/api/v1/users/{agent_id}/sessions/revoke"), &admin)
            .await
            .status(),
        204
    );
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let events: Vec<Value> = app
        .get_as(
            "/api/v1/audit-events?action=session.revoked_all",
            &principal,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["target_id"], agent_id.as_str());
}
