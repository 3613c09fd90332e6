//! Dealer groups (issue 23): Olivia Premium, the demo group principal of "Premium Group" (both
//! Premium rooftops), runs the staff of every rooftop of the group and of nothing else; a
//! rooftop taken out of the group leaves her reach at once, on every replica; a rooftop's own
//! principal never reaches its sibling. Every server here connects as the unprivileged login
//! role, so what the answers show is what row-level security let through.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    ADMIN, DemoUser, METRO_MOTORS, MM_AGENT, MM_PRINCIPAL, PA_AGENT, PA_MANAGER, PA_MANAGER_NORTH,
    PA_OWNER, PA_PRINCIPAL, PREMIUM_AUTO, PREMIUM_AUTO_NORTH, PREMIUM_GROUP, TestApp, Tokens,
    count, error_of, mfa::claims, spawn_app,
};

/// The fields a 422 names.
async fn invalid_fields(resp: reqwest::Response) -> Vec<String> {
    error_of(resp, 422).await["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn sign_in(app: &TestApp, who: &DemoUser, place: Value) -> reqwest::Response {
    let mut body = json!({"email": who.email, "password": who.password});
    body.as_object_mut()
        .unwrap()
        .extend(place.as_object().unwrap().clone());
    app.post_json("/api/v1/auth/login", body).await
}

/// The ids a list answers, sorted.
async fn ids(app: &TestApp, path: &str, token: &str) -> Vec<Uuid> {
    let resp = app.get_as(path, token).await;
    assert_eq!(resp.status(), 200, "{path}");
    let body: Value = resp.json().await.unwrap();
    let mut ids: Vec<Uuid> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort();
    ids
}

async fn status(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> u16 {
    let request = app.as_user(method, path, token);
    let request = match body {
        Value::Null => request,
        body => request.json(&body),
    };
    request.send().await.unwrap().status().as_u16()
}

/// The live memberships of one or more dealerships, as the owner sees the database.
async fn staff_of(app: &TestApp, dealerships: &[Uuid]) -> Vec<Uuid> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let list = dealerships
        .iter()
        .map(|d| format!("'{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT id FROM memberships WHERE deleted_at IS NULL AND dealership_id IN ({list})"
    );
    let rows = app
        .db
        .owner()
        .await
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap();
    let mut ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id").unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_group_principal_signs_in_to_the_group_and_lists_every_rooftop_of_it_and_nothing_else() {
    let app = spawn_app().await;
    let owner = app.login_ok(PA_OWNER.email, PA_OWNER.password).await;
    let user = &owner.body["user"];
    assert_eq!(user["role"], "group_principal");
    assert_eq!(user["group_id"], PREMIUM_GROUP.to_string());
    assert_eq!(user["dealership_id"], Value::Null);
    let token = claims(&owner.access);
    assert_eq!(token["group_id"], PREMIUM_GROUP.to_string(), "{token}");
    assert_eq!(token["role"], "group_principal");
    assert!(token["dealership_id"].is_null(), "{token}");

    // the staff of both rooftops, and none of Metro Motors
    let group_staff = staff_of(&app, &[PREMIUM_AUTO, PREMIUM_AUTO_NORTH]).await;
    assert_eq!(group_staff.len(), 4, "Paula, Mark (twice), Alice");
    assert_eq!(ids(&app, "/api/v1/users", &owner.access).await, group_staff);
    let resp = app.get_as("/api/v1/users?limit=2", &owner.access).await;
    assert_eq!(resp.headers()["x-total-count"], "4");
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), 2, "a page of the merged list");
    let filtered = "/api/v1/users?role=manager";
    assert_eq!(
        ids(&app, filtered, &owner.access).await,
        {
            let mut m = vec![PA_MANAGER.id, PA_MANAGER_NORTH];
            m.sort();
            m
        },
        "filters hold in every rooftop"
    );
    let mut rooftops = vec![PREMIUM_AUTO, PREMIUM_AUTO_NORTH];
    rooftops.sort();
    assert_eq!(
        ids(&app, "/api/v1/dealerships", &owner.access).await,
        rooftops
    );
    for (path, want) in [
        (format!("/api/v1/users/{}", PA_AGENT.id), 200),
        (format!("/api/v1/users/{PA_MANAGER_NORTH}"), 200),
        (format!("/api/v1/users/{}", MM_AGENT.id), 404),
        (format!("/api/v1/dealerships/{METRO_MOTORS}"), 404),
        (format!("/api/v1/dealerships/{PREMIUM_AUTO_NORTH}"), 200),
    ] {
        assert_eq!(
            status(&app, Method::GET, &path, &owner.access, Value::Null).await,
            want,
            "{path}"
        );
    }
    // the audit log of every rooftop, newest first, none of Metro's
    for who in [&PA_MANAGER, &MM_PRINCIPAL, &PA_PRINCIPAL] {
        app.login_ok(who.email, who.password).await;
    }
    let resp = app
        .get_as("/api/v1/audit-events?limit=1", &owner.access)
        .await;
    assert_eq!(
        resp.headers()["x-total-count"],
        "2",
        "two sign-ins in the group"
    );
    let events: Vec<Value> = app
        .get_as("/api/v1/audit-events?limit=100", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let actors: Vec<&str> = events
        .iter()
        .map(|e| e["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        [PA_PRINCIPAL.id.to_string(), PA_MANAGER.id.to_string()],
        "newest first, Metro's principal not among them: {events:?}"
    );
    // /auth/me names the group
    let me: Value = app
        .get_as("/api/v1/auth/me", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["group_name"], "Premium Group", "{me}");
}

#[tokio::test]
async fn a_rooftop_taken_out_of_the_group_leaves_its_reach_at_once_on_another_replica_too() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let owner = app.login_ok(PA_OWNER.email, PA_OWNER.password).await;
    let north_user = format!("/api/v1/users/{PA_MANAGER_NORTH}");
    assert_eq!(
        status(
            &replica,
            Method::GET,
            &north_user,
            &owner.access,
            Value::Null
        )
        .await,
        200
    );
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let north_in_group =
        format!("/api/v1/dealer-groups/{PREMIUM_GROUP}/dealerships/{PREMIUM_AUTO_NORTH}");
    let sold = status(&app, Method::DELETE, &north_in_group, &admin, Value::Null).await;
    assert_eq!(sold, 204);
    // the very next request, on the other replica: North is gone from every answer
    assert_eq!(
        status(
            &replica,
            Method::GET,
            &north_user,
            &owner.access,
            Value::Null
        )
        .await,
        404
    );
    let edit = json!({"first_name": "Sold"});
    assert_eq!(
        status(
            &replica,
            Method::PATCH,
            &north_user,
            &owner.access,
            edit.clone()
        )
        .await,
        404
    );
    assert_eq!(
        ids(&replica, "/api/v1/users", &owner.access).await,
        staff_of(&app, &[PREMIUM_AUTO]).await
    );
    assert_eq!(
        ids(&replica, "/api/v1/dealerships", &owner.access).await,
        vec![PREMIUM_AUTO]
    );
    let group: Value = app
        .get_as(&format!("/api/v1/dealer-groups/{PREMIUM_GROUP}"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["dealership_ids"], json!([PREMIUM_AUTO]));
    // and back in: reached again at once
    let back = status(&app, Method::PUT, &north_in_group, &admin, Value::Null).await;
    assert_eq!(back, 204);
    assert_eq!(
        status(
            &replica,
            Method::GET,
            &north_user,
            &owner.access,
            Value::Null
        )
        .await,
        200
    );
    // the move is audited where the rooftop is
    let moved = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM audit_events WHERE dealership_id = '{PREMIUM_AUTO_NORTH}' \
             AND action IN ('dealer_group.dealership_removed', 'dealer_group.dealership_added')"
        ),
    )
    .await;
    assert_eq!(moved, 2);
}

/// The isolation matrix's group rows: who asks, what, and the status it must get.
#[tokio::test]
async fn group_members_never_reach_outside_their_group_and_a_rooftop_never_reaches_its_sibling() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    // Alice (a Premium Auto agent) is also the group's manager
    let added = app
        .send_as(
            Method::POST,
            &format!("/api/v1/dealer-groups/{PREMIUM_GROUP}/members"),
            &admin,
            json!({"user_id": PA_AGENT.id, "role": "group_manager"}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let owner = app.login_ok(PA_OWNER.email, PA_OWNER.password).await.access;
    let manager =
        Tokens::from_response(sign_in(&app, &PA_AGENT, json!({"group_id": PREMIUM_GROUP})).await)
            .await;
    assert_eq!(manager.body["user"]["role"], "group_manager");
    let manager = manager.access;
    let paula = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let metro_agent = format!("/api/v1/users/{}", MM_AGENT.id);
    let north_mark = format!("/api/v1/users/{PA_MANAGER_NORTH}");
    let pa_agent = format!("/api/v1/users/{}", PA_AGENT.id);
    let new_in = |dealership: Uuid| {
        json!({
            "email": format!("{}@example.com", Uuid::now_v7()), "password": "a fine passphrase",
            "first_name": "New", "last_name": "Hire", "role": "agent", "dealership_id": dealership,
        })
    };
    let off = json!({"is_active": false});
    let users = || "/api/v1/users".to_owned();
    let metro = format!("/api/v1/dealerships/{METRO_MOTORS}");
    let north = format!("/api/v1/dealerships/{PREMIUM_AUTO_NORTH}");
    let group = format!("/api/v1/dealer-groups/{PREMIUM_GROUP}");
    let group_role = json!({
        "email": "gp@example.com", "password": "a fine passphrase", "first_name": "G",
        "last_name": "P", "role": "group_principal", "dealership_id": PREMIUM_AUTO,
    });
    let colleague = json!({
        "email": PA_PRINCIPAL.email, "password": "a fine passphrase", "first_name": "Paula",
        "last_name": "Premium", "role": "principal", "dealership_id": PREMIUM_AUTO_NORTH,
    });
    let (null, get, patch, post, delete) = (
        Value::Null,
        Method::GET,
        Method::PATCH,
        Method::POST,
        Method::DELETE,
    );
    #[rustfmt::skip]
    let rows: Vec<(&str, &String, Method, String, Value, u16)> = vec![
        // the group principal, against Metro Motors (outside the group): as if it did not exist
        ("owner", &owner, get.clone(), metro_agent.clone(), null.clone(), 404),
        ("owner", &owner, patch.clone(), metro_agent.clone(), off.clone(), 404),
        ("owner", &owner, delete.clone(), metro_agent.clone(), null.clone(), 404),
        ("owner", &owner, post.clone(), format!("{metro_agent}/sessions/revoke"), null.clone(), 404),
        ("owner", &owner, delete.clone(), format!("{metro_agent}/mfa"), null.clone(), 404),
        ("owner", &owner, post.clone(), users(), new_in(METRO_MOTORS), 404),
        ("owner", &owner, patch.clone(), metro.clone(), json!({"address": "x"}), 404),
        // ... and in the group: staff of either rooftop, created, edited, deactivated
        ("owner", &owner, post.clone(), users(), new_in(PREMIUM_AUTO_NORTH), 201),
        ("owner", &owner, post.clone(), users(), new_in(PREMIUM_AUTO), 201),
        ("owner", &owner, patch.clone(), north_mark.clone(), json!({"first_name": "Marcus"}), 200),
        ("owner", &owner, patch.clone(), pa_agent.clone(), off.clone(), 200),
        // a colleague of Premium Auto is invited into North (her password stays her own)
        ("owner", &owner, post.clone(), users(), colleague, 201),
        // a group role is the group's to give, not a rooftop's
        ("owner", &owner, post.clone(), users(), group_role, 422),
        // the group's manager reads the staff of both rooftops and changes nothing (only her
        // own record is in reach for a change)
        ("manager", &manager, get.clone(), north_mark.clone(), null.clone(), 200),
        ("manager", &manager, get.clone(), metro_agent.clone(), null.clone(), 404),
        ("manager", &manager, patch.clone(), north_mark.clone(), off.clone(), 404),
        ("manager", &manager, post.clone(), users(), new_in(PREMIUM_AUTO), 403),
        ("manager", &manager, get.clone(), "/api/v1/audit-events".into(), null.clone(), 403),
        ("manager", &manager, get.clone(), "/api/v1/dealer-groups".into(), null.clone(), 403),
        // Premium Auto's principal, against its sibling rooftop: refused as a stranger is
        ("paula", &paula, get.clone(), north_mark.clone(), null.clone(), 404),
        ("paula", &paula, patch.clone(), north_mark.clone(), off.clone(), 404),
        ("paula", &paula, delete.clone(), north_mark.clone(), null.clone(), 404),
        ("paula", &paula, post.clone(), users(), new_in(PREMIUM_AUTO_NORTH), 404),
        ("paula", &paula, get.clone(), north.clone(), null.clone(), 404),
        ("paula", &paula, post.clone(), "/api/v1/auth/switch".into(), json!({"group_id": PREMIUM_GROUP}), 404),
        ("paula", &paula, get.clone(), group.clone(), null.clone(), 403),
    ];
    let mut failures = Vec::new();
    for (who, token, method, path, body, want) in rows {
        let got = status(&app, method.clone(), &path, token, body).await;
        if got != want {
            failures.push(format!("{who} {method} {path}: {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let invited = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM invitations WHERE email = '{}' \
             AND dealership_id = '{PREMIUM_AUTO_NORTH}' AND accepted_at IS NULL",
            PA_PRINCIPAL.email
        ),
    )
    .await;
    assert_eq!(invited, 1, "the colleague is invited, not created");
    // Paula's list stays Premium Auto's, the owner's both rooftops'
    assert_eq!(
        ids(&app, "/api/v1/users", &paula).await,
        staff_of(&app, &[PREMIUM_AUTO]).await
    );
    assert_eq!(
        ids(&app, "/api/v1/users", &owner).await,
        staff_of(&app, &[PREMIUM_AUTO, PREMIUM_AUTO_NORTH]).await
    );
}

#[tokio::test]
async fn sign_in_and_switch_take_a_group_and_ending_a_group_membership_ends_its_tokens() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let members = format!("/api/v1/dealer-groups/{PREMIUM_GROUP}/members");
    let added = app
        .send_as(
            Method::POST,
            &members,
            &admin,
            json!({"user_id": PA_MANAGER.id, "role": "group_manager"}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let seat: Value = added.json().await.unwrap();
    assert_eq!(seat["group_id"], PREMIUM_GROUP.to_string());
    // once is enough: a second one is a conflict; a dealership role is no group role
    let again = json!({"user_id": PA_MANAGER_NORTH, "role": "group_principal"});
    assert_eq!(
        status(&app, Method::POST, &members, &admin, again).await,
        409
    );
    let wrong = json!({"user_id": PA_AGENT.id, "role": "principal"});
    let resp = app.send_as(Method::POST, &members, &admin, wrong).await;
    assert_eq!(invalid_fields(resp).await, vec!["role"]);

    // Mark signs in to his rooftop as before, lists the group beside it, and switches to it
    let home = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let places = home.body["user"]["memberships"].as_array().unwrap().clone();
    assert_eq!(places.len(), 3, "{places:?}");
    assert!(places.iter().any(|m| m["group_name"] == "Premium Group"));
    let both = json!({"dealership_id": PREMIUM_AUTO, "group_id": PREMIUM_GROUP});
    let resp = app
        .send_as(Method::POST, "/api/v1/auth/switch", &home.access, both)
        .await;
    assert_eq!(invalid_fields(resp).await, vec!["group_id"]);
    let to_group = json!({"group_id": PREMIUM_GROUP});
    let resp = app
        .send_as(Method::POST, "/api/v1/auth/switch", &home.access, to_group)
        .await;
    assert_eq!(resp.status(), 200);
    let group = Tokens::from_response(resp).await;
    assert_eq!(claims(&group.access)["group_id"], PREMIUM_GROUP.to_string());
    assert_eq!(group.body["user"]["role"], "group_manager");
    // a group's tokens refresh within the group
    let refreshed = app.refresh_ok(&group.refresh).await;
    assert_eq!(claims(&refreshed.access)["role"], "group_manager");
    // sign-in by group, and a group he is not in gets the uniform refusal
    let direct = sign_in(&app, &PA_MANAGER, json!({"group_id": PREMIUM_GROUP})).await;
    assert_eq!(direct.status(), 200);
    let elsewhere = sign_in(&app, &MM_PRINCIPAL, json!({"group_id": PREMIUM_GROUP})).await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);

    // the admin ends the group membership: its tokens die at once, the rooftop's live on
    let seat_id = seat["id"].as_str().unwrap();
    let ended = status(
        &app,
        Method::DELETE,
        &format!("{members}/{seat_id}"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(ended, 204);
    let me = app.get_as("/api/v1/auth/me", &refreshed.access).await;
    assert_eq!(me.status(), 401);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &home.access).await.status(),
        200
    );
}

#[tokio::test]
async fn admins_arrange_groups_with_conflicts_and_group_roles_count_for_the_credential_rule() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let groups = "/api/v1/dealer-groups";
    let taken = json!({"name": "premium group"});
    assert_eq!(status(&app, Method::POST, groups, &admin, taken).await, 409);
    let created = app
        .send_as(Method::POST, groups, &admin, json!({"name": "Metro Group"}))
        .await;
    assert_eq!(created.status(), 201);
    let metro_group: Value = created.json().await.unwrap();
    let metro_group = metro_group["id"].as_str().unwrap().to_owned();
    // a dealership is in at most one group
    let north_to_metro = format!("{groups}/{metro_group}/dealerships/{PREMIUM_AUTO_NORTH}");
    assert_eq!(
        status(&app, Method::PUT, &north_to_metro, &admin, Value::Null).await,
        409
    );
    let metro_in = format!("{groups}/{metro_group}/dealerships/{METRO_MOTORS}");
    assert_eq!(
        status(&app, Method::PUT, &metro_in, &admin, Value::Null).await,
        204
    );
    // the list shows each group with its own dealerships
    let listed: Vec<Value> = app.get_as(groups, &admin).await.json().await.unwrap();
    let of =
        |name: &str| listed.iter().find(|g| g["name"] == name).unwrap()["dealership_ids"].clone();
    assert_eq!(of("Metro Group"), json!([METRO_MOTORS]));
    assert_eq!(of("Premium Group").as_array().unwrap().len(), 2);
    // a group with dealerships is not deleted; an empty one is
    let metro_path = format!("{groups}/{metro_group}");
    assert_eq!(
        status(&app, Method::DELETE, &metro_path, &admin, Value::Null).await,
        409
    );
    assert_eq!(
        status(&app, Method::DELETE, &metro_in, &admin, Value::Null).await,
        204
    );
    assert_eq!(
        status(&app, Method::DELETE, &metro_path, &admin, Value::Null).await,
        204
    );
    assert_eq!(
        status(&app, Method::GET, &metro_path, &admin, Value::Null).await,
        404
    );
    let empty = json!({"name": ""});
    let resp = app
        .send_as(
            Method::PATCH,
            &format!("{groups}/{PREMIUM_GROUP}"),
            &admin,
            empty,
        )
        .await;
    assert_eq!(invalid_fields(resp).await, vec!["name"]);

    // Alice, a Premium Auto agent, becomes the group's manager: her credentials are then no
    // longer Paula's to change (a membership Paula does not reach), but still the owner's
    let members = format!("{groups}/{PREMIUM_GROUP}/members");
    let added = json!({"user_id": PA_AGENT.id, "role": "group_manager"});
    assert_eq!(
        status(&app, Method::POST, &members, &admin, added).await,
        201
    );
    let paula = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let alice = format!("/api/v1/users/{}", PA_AGENT.id);
    let password = json!({"password": "another fine passphrase"});
    let resp = app
        .send_as(Method::PATCH, &alice, &paula, password.clone())
        .await;
    assert_eq!(resp.status(), 403);
    let owner = app.login_ok(PA_OWNER.email, PA_OWNER.password).await.access;
    let resp = app.send_as(Method::PATCH, &alice, &owner, password).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // a peer of the owner's rank is not hers to change, wherever she reaches them
    let listed: Vec<Value> = app.get_as(&members, &admin).await.json().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
}
