//! One person in several dealerships (issue 22): Mark Premium, the demo manager of Premium Auto
//! and Premium Auto North, signs in once, lists both, switches and back without a password, and
//! each dealership sees only its own membership of him. Ending one membership ends only the
//! sessions that use it; his sign-in names and password are his own wherever a dealership does
//! not reach every membership of his.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_MANAGER_NORTH, PA_PRINCIPAL, PREMIUM_AUTO,
    PREMIUM_AUTO_NORTH, TestApp, Tokens, error_of, spawn_app,
};

const SWITCH: &str = "/api/v1/auth/switch";

async fn switch(app: &TestApp, token: &str, dealership: uuid::Uuid) -> reqwest::Response {
    app.as_user(Method::POST, SWITCH, token)
        .json(&json!({"dealership_id": dealership}))
        .send()
        .await
        .unwrap()
}

/// The dealerships a sign-in answer or `/auth/me` lists, by name.
fn places(user: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = user["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["dealership_name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let resp = app.get_as("/api/v1/auth/me", token).await;
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_manager_of_two_rooftops_signs_in_once_and_switches_there_and_back() {
    let app = spawn_app().await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let user = &home.body["user"];
    assert_eq!(places(user), ["Premium Auto", "Premium Auto North"]);
    assert_eq!(
        user["id"],
        PA_MANAGER.id.to_string(),
        "Premium Auto: used first"
    );

    let north = switch(&app, &home.access, PREMIUM_AUTO_NORTH).await;
    assert_eq!(north.status(), 200);
    let north = Tokens::from_response(north).await;
    assert_eq!(north.body["user"]["id"], PA_MANAGER_NORTH.to_string());
    assert_eq!(
        north.body["user"]["dealership_id"],
        PREMIUM_AUTO_NORTH.to_string()
    );
    // both tabs stay right: each token acts in its own dealership
    let (status, seen) = me(&app, &north.access).await;
    assert_eq!(
        (status, seen["dealership_id"].as_str()),
        (
            StatusCode::OK,
            Some(PREMIUM_AUTO_NORTH.to_string().as_str())
        )
    );
    assert_eq!(places(&seen), ["Premium Auto", "Premium Auto North"]);
    let (status, seen) = me(&app, &home.access).await;
    assert_eq!(
        (status, seen["id"].as_str()),
        (StatusCode::OK, Some(PA_MANAGER.id.to_string().as_str()))
    );

    // and back, from the North token; each family refreshes within its own membership
    let back = Tokens::from_response(switch(&app, &north.access, PREMIUM_AUTO).await).await;
    assert_eq!(back.body["user"]["id"], PA_MANAGER.id.to_string());
    let again = app.refresh_ok(&north.refresh).await;
    assert_eq!(again.body["user"]["id"], PA_MANAGER_NORTH.to_string());

    // nowhere else: a dealership without a membership of his is not found
    let elsewhere = switch(&app, &home.access, crate::helpers::METRO_MOTORS).await;
    error_of(elsewhere, 404).await;

    // naming the dealership at sign-in enters it directly
    let direct = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": PA_MANAGER.email, "password": PA_MANAGER.password,
                   "dealership_id": PREMIUM_AUTO_NORTH}),
        )
        .await;
    let direct = Tokens::from_response(direct).await;
    assert_eq!(direct.body["user"]["id"], PA_MANAGER_NORTH.to_string());

    // logout ends every family of the sign-in, whichever tab asks
    let ended = app.post_as("/api/v1/auth/logout", &back.access).await;
    assert_eq!(ended.status(), 204);
    error_of(app.refresh(&again.refresh).await, 401).await;
    error_of(app.get_as("/api/v1/auth/me", &home.access).await, 401).await;
    // the separate sign-in straight into North stands
    assert_eq!(me(&app, &direct.access).await.0, StatusCode::OK);
}

#[tokio::test]
async fn each_dealership_sees_only_its_own_membership_of_a_shared_person() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let listed: Vec<Value> = app
        .get_as("/api/v1/users", &principal)
        .await
        .json()
        .await
        .unwrap();
    let mark: Vec<&Value> = listed
        .iter()
        .filter(|u| u["email"] == PA_MANAGER.email)
        .collect();
    assert_eq!(mark.len(), 1, "one row: his Premium Auto membership");
    assert_eq!(places(mark[0]), ["Premium Auto"], "not the other rooftop");
    let other = app
        .get_as(&format!("/api/v1/users/{PA_MANAGER_NORTH}"), &principal)
        .await;
    error_of(other, 404).await;

    let metro = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await
        .access;
    let listed: Vec<Value> = app
        .get_as("/api/v1/users", &metro)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.iter().all(|u| u["email"] != PA_MANAGER.email));
}

#[tokio::test]
async fn deactivating_one_membership_ends_only_the_sessions_that_use_it() {
    let app = spawn_app().await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let north = Tokens::from_response(switch(&app, &home.access, PREMIUM_AUTO_NORTH).await).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let off = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}/toggle-active", PA_MANAGER.id),
            &principal,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);

    error_of(app.get_as("/api/v1/auth/me", &home.access).await, 401).await;
    error_of(app.refresh(&home.refresh).await, 401).await;
    assert_eq!(me(&app, &north.access).await.0, StatusCode::OK);
    let refreshed = app.refresh_ok(&north.refresh).await;
    assert_eq!(refreshed.body["user"]["id"], PA_MANAGER_NORTH.to_string());
    // signing in again finds the one membership left
    let again = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(places(&again.body["user"]), ["Premium Auto North"]);
}

#[tokio::test]
async fn staff_change_the_credentials_only_of_people_wholly_in_their_reach() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let edit = |id: uuid::Uuid, body: Value| {
        app.as_user(Method::PATCH, &format!("/api/v1/users/{id}"), &principal)
            .json(&body)
            .send()
    };
    for body in [
        json!({"password": "a brand new passphrase"}),
        json!({"email": "mark.elsewhere@premiumauto.com"}),
        json!({"phone": "+13125550199"}),
    ] {
        let refused = error_of(edit(PA_MANAGER.id, body.clone()).await.unwrap(), 403).await;
        assert_eq!(
            refused["message"], "this person manages their own sign-in",
            "{body}"
        );
        assert!(
            !refused.to_string().contains("North"),
            "names no dealership"
        );
    }
    // his name and his role here are Premium Auto's to change
    let renamed = edit(PA_MANAGER.id, json!({"first_name": "Marcus"}))
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    // an agent of Premium Auto alone is wholly in reach
    let reset = edit(PA_AGENT.id, json!({"password": "a brand new passphrase"}))
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    // and Mark still signs in with his own password
    app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
}

#[tokio::test]
async fn the_sessions_list_shows_each_dealership_and_ends_any_of_them() {
    let app = spawn_app().await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let north = Tokens::from_response(switch(&app, &home.access, PREMIUM_AUTO_NORTH).await).await;
    let listed: Vec<Value> = app
        .get_as("/api/v1/auth/sessions", &home.access)
        .await
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = listed
        .iter()
        .map(|s| s["dealership_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Premium Auto", "Premium Auto North"]);
    assert_eq!(
        listed[0]["sign_in_id"], listed[1]["sign_in_id"],
        "one sign-in"
    );

    // the North family ends from the Premium Auto tab, and only it
    let north_session = listed
        .iter()
        .find(|s| s["dealership_id"] == PREMIUM_AUTO_NORTH.to_string())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{north_session}"),
            &home.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    error_of(app.refresh(&north.refresh).await, 401).await;
    assert_eq!(me(&app, &home.access).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_person_leaves_one_dealership_and_keeps_the_other() {
    let app = spawn_app().await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let north = Tokens::from_response(switch(&app, &home.access, PREMIUM_AUTO_NORTH).await).await;
    let leave = |token: &str, dealership: uuid::Uuid| {
        app.as_user(
            Method::DELETE,
            &format!("/api/v1/auth/memberships/{dealership}"),
            token,
        )
        .send()
    };
    assert_eq!(
        leave(&home.access, PREMIUM_AUTO_NORTH)
            .await
            .unwrap()
            .status(),
        204
    );
    error_of(app.refresh(&north.refresh).await, 401).await;
    error_of(app.get_as("/api/v1/auth/me", &north.access).await, 401).await;
    assert_eq!(me(&app, &home.access).await.0, StatusCode::OK);
    let again = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(places(&again.body["user"]), ["Premium Auto"]);
    // the last one is the account: closing it is DELETE /auth/me
    let only = error_of(leave(&home.access, PREMIUM_AUTO).await.unwrap(), 422).await;
    assert!(only.to_string().contains("/api/v1/auth/me"), "{only}");
}

#[tokio::test]
async fn the_last_principal_of_a_dealership_cannot_leave_it() {
    let app = spawn_app().await;
    // Paula is principal of Premium Auto North too, its only one
    crate::helpers::exec(
        &app.db.owner().await,
        &format!(
            "INSERT INTO memberships (id, person_id, dealership_id, role) \
             VALUES (gen_random_uuid(), '{}', '{PREMIUM_AUTO_NORTH}', 'principal')",
            PA_PRINCIPAL.id
        ),
    )
    .await;
    let paula = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let refused = app
        .as_user(
            Method::DELETE,
            &format!("/api/v1/auth/memberships/{PREMIUM_AUTO_NORTH}"),
            &paula,
        )
        .send()
        .await
        .unwrap();
    error_of(refused, 409).await;
}

#[tokio::test]
async fn a_password_change_is_in_the_audit_log_of_every_dealership_of_the_person_only() {
    let app = spawn_app().await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let changed = app
        .as_user(Method::POST, "/api/v1/auth/password", &home.access)
        .json(&json!({"current_password": PA_MANAGER.password,
                      "new_password": "another fine passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let owner = app.db.owner().await;
    let events = |dealership: uuid::Uuid, actor: uuid::Uuid| {
        format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'user.password_changed' \
             AND dealership_id = '{dealership}' AND actor_id = '{actor}' AND target_id = '{actor}'"
        )
    };
    // each dealership's event names its own membership of him
    for (dealership, membership) in [
        (PREMIUM_AUTO, PA_MANAGER.id),
        (PREMIUM_AUTO_NORTH, PA_MANAGER_NORTH),
    ] {
        let n = crate::helpers::count(&owner, &events(dealership, membership)).await;
        assert_eq!(n, 1, "{dealership}");
    }
    let anywhere = "SELECT count(*) AS n FROM audit_events WHERE action = 'user.password_changed'";
    assert_eq!(
        crate::helpers::count(&owner, anywhere).await,
        2,
        "and nowhere else"
    );
}

#[tokio::test]
async fn an_admin_merges_two_accounts_of_one_person_into_one() {
    let app = spawn_app().await;
    let admin = app
        .login_ok(crate::helpers::ADMIN.email, crate::helpers::ADMIN.password)
        .await
        .access;
    // Adam of Metro Motors is Alice of Premium Auto: one person from now on
    let adam = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    let merged = app
        .as_user(
            Method::POST,
            &format!("/api/v1/users/{}/merge", PA_AGENT.id),
            &admin,
        )
        .json(&json!({"from": MM_AGENT.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    // Alice's sign-in names and password stay, and reach Metro Motors now
    let alice = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(
        places(&alice.body["user"]),
        ["Metro Motors", "Premium Auto"]
    );
    // Adam's account is closed: his sign-in and his sessions end
    error_of(app.login(MM_AGENT.email, MM_AGENT.password).await, 401).await;
    error_of(app.refresh(&adam.refresh).await, 401).await;
    // Metro Motors keeps its membership, now showing the person it belongs to
    let metro = app
        .login_ok(MM_PRINCIPAL.email, MM_PRINCIPAL.password)
        .await
        .access;
    let row: Value = app
        .get_as(&format!("/api/v1/users/{}", MM_AGENT.id), &metro)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(row["email"], PA_AGENT.email);

    // two people in one dealership cannot become one
    let twice = app
        .as_user(
            Method::POST,
            &format!("/api/v1/users/{}/merge", PA_AGENT.id),
            &admin,
        )
        .json(&json!({"from": crate::helpers::PA_PRINCIPAL.id}))
        .send()
        .await
        .unwrap();
    error_of(twice, 409).await;
}

#[tokio::test]
async fn switching_into_a_dealership_that_requires_a_second_factor_asks_for_one() {
    let app = spawn_app().await;
    crate::helpers::exec(
        &app.db.owner().await,
        &format!("UPDATE dealerships SET mfa_required = true WHERE id = '{PREMIUM_AUTO_NORTH}'"),
    )
    .await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(home.body["mfa"], "optional", "Premium Auto requires none");
    let north = Tokens::from_response(switch(&app, &home.access, PREMIUM_AUTO_NORTH).await).await;
    // Mark has no app: there he must enrol one first, and may do nothing else
    assert_eq!(north.body["mfa"], "must_enrol");
    let refused = app.get_as("/api/v1/users", &north.access).await;
    error_of(refused, 403).await;
    // his Premium Auto tab is unaffected
    assert_eq!(me(&app, &home.access).await.0, StatusCode::OK);
}

#[tokio::test]
async fn closing_an_account_keeps_every_dealership_of_the_person_with_a_principal() {
    let app = spawn_app().await;
    // Mark is a manager at Premium Auto and the only principal of Premium Auto North
    crate::helpers::exec(
        &app.db.owner().await,
        &format!("UPDATE memberships SET role = 'principal' WHERE id = '{PA_MANAGER_NORTH}'"),
    )
    .await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let close = app
        .as_user(Method::DELETE, "/api/v1/auth/me", &home.access)
        .json(&json!({"current_password": PA_MANAGER.password}))
        .send()
        .await
        .unwrap();
    let refused = error_of(close, 409).await;
    assert!(
        !refused.to_string().contains("North"),
        "names no dealership"
    );
    // as a manager at both, he closes, and both memberships end
    crate::helpers::exec(
        &app.db.owner().await,
        &format!("UPDATE memberships SET role = 'manager' WHERE id = '{PA_MANAGER_NORTH}'"),
    )
    .await;
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let close = app
        .as_user(Method::DELETE, "/api/v1/auth/me", &home.access)
        .json(&json!({"current_password": PA_MANAGER.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), 204);
    error_of(app.login(PA_MANAGER.email, PA_MANAGER.password).await, 401).await;
    let left = crate::helpers::count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM memberships WHERE person_id = '{}' AND deleted_at IS NULL",
            PA_MANAGER.id
        ),
    )
    .await;
    assert_eq!(left, 0);
}
