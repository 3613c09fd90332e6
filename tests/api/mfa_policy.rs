//! Who must have a second factor and when it must be fresh: `auth.mfa.required_roles` and a
//! dealership's `mfa_required` confine a user without one to enrolling; sensitive changes by a
//! user with one need it proven within `auth.mfa.step_up_max_age_secs`; support resets it
//! within rank.

use std::time::Duration;

use dealergate::domain::Role;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp,
    count, error_of,
    mfa::{claims, enrol, sign_in, start_enrolment},
    smtp::mailing_app,
    spawn_app_with,
};

async fn error_type(resp: reqwest::Response, status: u16) -> String {
    error_of(resp, status).await["type"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every table a sensitive change could write, each read whole by the superuser: a refused
/// change must leave all of it as it was.
const SENSITIVE_TABLES: [&str; 8] = [
    "users",
    "dealerships",
    "custom_roles",
    "sessions",
    "mfa_factors",
    "mfa_recovery_codes",
    "account_tokens",
    "mail_outbox",
];

/// The rows of [`SENSITIVE_TABLES`], one text per table.
async fn sensitive_state(app: &TestApp) -> Vec<(&'static str, String)> {
    let owner = app.db.owner().await;
    let mut state = Vec::new();
    for table in SENSITIVE_TABLES {
        let sql = format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS rows \
             FROM {table} t"
        );
        let rows = owner
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap()
            .expect("one row")
            .try_get::<String>("", "rows")
            .unwrap();
        state.push((table, rows));
    }
    state
}

async fn factors_of(app: &TestApp, user: uuid::Uuid) -> i64 {
    let sql = format!("SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{user}'");
    count(&app.db.owner().await, &sql).await
}

#[tokio::test]
async fn a_required_role_without_a_factor_may_only_enrol_until_it_has_one() {
    let app = spawn_app_with(|s| s.auth.mfa.required_roles = vec![Role::Admin]).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    assert_eq!(claims(&admin.access)["mfa"], "must_enrol");
    for (method, path) in [
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/api/v1/dealerships"),
        (Method::POST, "/api/v1/admin/policies/reload"),
        (Method::GET, "/api/v1/auth/sessions"),
        (Method::GET, "/api/v1/auth/mfa/../../users"),
    ] {
        let resp = app
            .as_user(method.clone(), path, &admin.access)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["error"]["type"], "mfa_enrolment_required",
            "{method} {path}"
        );
    }
    // who they are, their factors, enrolling and signing out work
    assert_eq!(
        app.get_as("/api/v1/auth/me", &admin.access).await.status(),
        200
    );
    assert_eq!(
        app.get_as("/api/v1/auth/mfa", &admin.access).await.status(),
        200
    );
    // another role is not confined
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(claims(&agent.access)["mfa"], "optional");
    assert_eq!(
        app.get_as("/api/v1/auth/sessions", &agent.access)
            .await
            .status(),
        200
    );

    let enrolled = enrol(&app, &admin.access, ADMIN.password).await;
    assert_eq!(
        app.get_as("/api/v1/users", &enrolled.access).await.status(),
        200
    );
    // the restricted token stays restricted; the session's next refresh is not
    let old = app.get_as("/api/v1/users", &admin.access).await;
    assert_eq!(error_type(old, 403).await, "mfa_enrolment_required");
    let refreshed = app.refresh_ok(&admin.refresh).await;
    let c = claims(&refreshed.access);
    assert_eq!(
        (c["mfa"].clone(), c["amr"].clone()),
        (json!("enrolled"), json!(["pwd", "otp"]))
    );
    assert_eq!(
        app.get_as("/api/v1/users", &refreshed.access)
            .await
            .status(),
        200
    );
    // and the next sign-in takes both steps
    sign_in(&app, ADMIN.email, ADMIN.password, &enrolled.app).await;
}

#[tokio::test]
async fn a_dealership_requiring_mfa_ends_sessions_without_it_and_confines_new_ones() {
    let app = spawn_app_with(|_| {}).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &agent.access, PA_AGENT.password).await;
    let metro = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    let mm_principal = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await;
    let path = format!("/api/v1/dealerships/{PREMIUM_AUTO}");
    let on = json!({"mfa_required": true});
    // not the manager's to switch, nor another dealership's principal's
    error_of(
        app.send_as(Method::PATCH, &path, &manager.access, on.clone())
            .await,
        403,
    )
    .await;
    error_of(
        app.send_as(Method::PATCH, &path, &mm_principal.access, on.clone())
            .await,
        404,
    )
    .await;

    let resp = app
        .send_as(Method::PATCH, &path, &principal.access, on.clone())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["mfa_required"], true);
    // sessions that never proved a second factor end (the principal's own too) …
    for (who, token) in [
        ("principal", &principal.access),
        ("manager", &manager.access),
    ] {
        assert_eq!(
            app.get_as("/api/v1/auth/me", token).await.status(),
            401,
            "{who}"
        );
    }
    error_of(app.refresh(&manager.refresh).await, 401).await;
    // … the agent's session that enrolled stands, and Metro Motors is untouched
    assert_eq!(
        app.get_as("/api/v1/auth/me", &enrolled.access)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get_as("/api/v1/auth/me", &metro.access).await.status(),
        200
    );
    // a new sign-in without a factor may only enrol
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(claims(&manager.access)["mfa"], "must_enrol");
    let users = app.get_as("/api/v1/users", &manager.access).await;
    assert_eq!(error_type(users, 403).await, "mfa_enrolment_required");
    start_enrolment(&app, &manager.access, PA_MANAGER.password).await;
    let audited = count(
        &app.db.owner().await,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'dealership.updated' \
         AND changes ? 'mfa_required'",
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn sensitive_changes_need_a_recent_second_factor_from_those_who_have_one() {
    let app = spawn_app_with(|s| s.auth.mfa.step_up_max_age_secs = 2).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let enrolled = enrol(&app, &principal.access, PA_PRINCIPAL.password).await;
    let role_change = |role: &str| json!({"role": role});
    let agent_path = format!("/api/v1/users/{}", PA_AGENT.id);
    // just proven: a role change goes through
    let resp = app
        .send_as(
            Method::PATCH,
            &agent_path,
            &enrolled.access,
            role_change("manager"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // the token from before the enrolment does not know of it; the server does
    let resp = app
        .send_as(
            Method::PATCH,
            &agent_path,
            &principal.access,
            role_change("agent"),
        )
        .await;
    assert_eq!(error_type(resp, 403).await, "step_up_required");

    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let stale = &enrolled.access;
    let password =
        json!({"current_password": PA_PRINCIPAL.password, "new_password": "Another-Pass-42!"});
    let role = json!({"name": "closer", "base_role": "agent", "permissions": []});
    let revoke = format!("/api/v1/users/{}/sessions/revoke", PA_AGENT.id);
    for (method, path, body) in [
        (Method::POST, "/api/v1/auth/password", password.clone()),
        (
            Method::POST,
            "/api/v1/auth/email",
            json!({"new_email": "p2@premiumauto.com", "current_password": PA_PRINCIPAL.password}),
        ),
        (Method::PATCH, agent_path.as_str(), role_change("agent")),
        (
            Method::PATCH,
            agent_path.as_str(),
            json!({"phone": "+1 312 555 0177"}),
        ),
        (Method::POST, "/api/v1/roles", role.clone()),
        (Method::POST, revoke.as_str(), json!({})),
        (
            Method::PATCH,
            &format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            json!({"mfa_required": true}),
        ),
        (
            Method::DELETE,
            &format!("/api/v1/users/{}/mfa", PA_AGENT.id),
            json!({}),
        ),
        // nor another app: the one the account has must be proven first
        (
            Method::POST,
            "/api/v1/auth/mfa/totp",
            json!({"current_password": PA_PRINCIPAL.password}),
        ),
    ] {
        let before = sensitive_state(&app).await;
        let resp = app.send_as(method.clone(), path, stale, body).await;
        assert_eq!(
            error_type(resp, 403).await,
            "step_up_required",
            "{method} {path}"
        );
        // refused, and nothing of it was written
        for ((table, was), (_, is)) in before.iter().zip(sensitive_state(&app).await) {
            assert_eq!(*was, is, "{method} {path} changed {table}");
        }
    }
    // what is not sensitive needs nothing more
    let resp = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            stale,
            json!({"first_name": "Pat"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // nothing changed meanwhile
    let agent = app
        .get_as(&agent_path, stale)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(agent["role"], "manager");

    // step up: a wrong code is refused, the right one gives a fresh token for the same session
    let wrong = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/step-up",
            stale,
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(error_of(wrong, 422).await["details"][0]["field"], "code");
    let code = enrolled.app.next_code().await;
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/step-up",
            stale,
            json!({"code": code}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let fresh = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims(&fresh)["sid"], claims(stale)["sid"]);
    let resp = app
        .send_as(Method::POST, "/api/v1/roles", &fresh, role)
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .send_as(Method::POST, "/api/v1/auth/password", &fresh, password)
        .await;
    assert_eq!(resp.status(), 204);

    // a user without a factor is not asked
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let own = json!({"current_password": PA_MANAGER.password, "new_password": "Manager-Pass-42!"});
    let resp = app
        .send_as(Method::POST, "/api/v1/auth/password", &manager.access, own)
        .await;
    assert_eq!(resp.status(), 204);
    let steps = count(
        &app.db.owner().await,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.step_up'",
    )
    .await;
    assert_eq!(steps, 1);
}

#[tokio::test]
async fn support_resets_a_factor_within_rank_and_the_user_signs_in_afresh() {
    let (app, smtp) = mailing_app(|_| {}).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    // a second principal of Premium Auto, and the agent, each with an app
    let peer = app
        .create_user(
            &principal.access,
            "peer@premiumauto.com",
            "Peer-Principal-42!",
            "principal",
        )
        .await;
    let peer_id: uuid::Uuid = peer["id"].as_str().unwrap().parse().unwrap();
    let peer_tokens = app
        .login_ok("peer@premiumauto.com", "Peer-Principal-42!")
        .await;
    enrol(&app, &peer_tokens.access, "Peer-Principal-42!").await;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let agent_app = enrol(&app, &agent.access, PA_AGENT.password).await;
    let agent_session = sign_in(&app, PA_AGENT.email, PA_AGENT.password, &agent_app.app).await;

    let reset = |id: uuid::Uuid| format!("/api/v1/users/{id}/mfa");
    // a peer principal is not the principal's to reset; nor is a user of another dealership
    error_of(
        app.send_as(
            Method::DELETE,
            &reset(peer_id),
            &principal.access,
            json!({}),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(factors_of(&app, peer_id).await, 1);
    let mm = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await;
    error_of(
        app.send_as(Method::DELETE, &reset(PA_AGENT.id), &mm.access, json!({}))
            .await,
        404,
    )
    .await;
    let manager = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    error_of(
        app.send_as(
            Method::DELETE,
            &reset(PA_AGENT.id),
            &manager.access,
            json!({}),
        )
        .await,
        404, // a manager edits only their own record: anyone else is outside their view
    )
    .await;
    error_of(
        app.send_as(
            Method::DELETE,
            &reset(PA_PRINCIPAL.id),
            &principal.access,
            json!({}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(factors_of(&app, PA_AGENT.id).await, 1);

    // the agent is below the principal: factors and recovery codes go, sessions end
    let resp = app
        .send_as(
            Method::DELETE,
            &reset(PA_AGENT.id),
            &principal.access,
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(factors_of(&app, PA_AGENT.id).await, 0);
    let codes = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM mfa_recovery_codes WHERE person_id = '{}'",
            PA_AGENT.id
        ),
    )
    .await;
    assert_eq!(codes, 0);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &agent_session.access)
            .await
            .status(),
        401
    );
    let again = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(claims(&again.access)["mfa"], "optional");
    let notices = smtp
        .wait_for(PA_AGENT.email, 2, Duration::from_secs(10))
        .await;
    assert!(
        notices
            .iter()
            .any(|m| m.text().contains("authenticator app was just removed"))
    );
    // an admin may reset anyone
    let resp = app
        .send_as(Method::DELETE, &reset(peer_id), &admin.access, json!({}))
        .await;
    assert_eq!(resp.status(), 204);
    let resets = count(
        &app.db.owner().await,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'mfa.reset'",
    )
    .await;
    assert_eq!(resets, 2);
}
