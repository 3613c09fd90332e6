//! Signing in by phone: any spelling of the stored E.164 number, exactly one of email and
//! phone, the same 401 and the same throttle as by email, and phones unique among live users.

use dealergate::testing::Scope;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{
        ADMIN, DemoUser, LOGIN_LOOKUP_COLUMNS, MM_AGENT, MM_MANAGER, PA_AGENT, PA_MANAGER,
        PA_PRINCIPAL, PREMIUM_AUTO, TestApp, TestDb, assert_locked, connect_single, count,
        error_of, exec, probes::metric_value, spawn_app, spawn_app_with,
    },
    lockout::three_strikes,
};

fn phone(user: &DemoUser) -> &'static str {
    user.phone.expect("a demo staff user with a phone")
}

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

/// The 401's headers that matter and its body with the request id blanked: what a client sees.
async fn refusal(resp: reqwest::Response) -> (u16, Option<String>, String) {
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = resp.json().await.unwrap();
    body["error"]["request_id"] = json!("");
    (status, challenge, body.to_string())
}

#[tokio::test]
async fn a_phone_signs_in_in_any_spelling_as_the_user_it_is_stored_for() {
    let app = spawn_app().await;
    for spelling in [
        "+1 (312) 555-0101",
        "+13125550101",
        "+1.312.555.0101",
        "  +1 312 555 0101 ",
    ] {
        let tokens = app.login_by_phone_ok(spelling, PA_PRINCIPAL.password).await;
        let user = &tokens.body["user"];
        assert_eq!(user["id"], PA_PRINCIPAL.id.to_string(), "{spelling:?}");
        assert_eq!(user["phone"], "+13125550101", "{spelling:?}");
        let me = app.get_as("/api/v1/auth/me", &tokens.access).await;
        assert_eq!(me.status(), 200, "{spelling:?}");
    }
    // another staff member's number signs in as them, not as the principal
    let agent = app
        .login_by_phone_ok("+1 (312) 555-0103", PA_AGENT.password)
        .await;
    assert_eq!(agent.body["user"]["id"], PA_AGENT.id.to_string());
}

#[tokio::test]
async fn the_oauth2_form_reads_a_username_starting_with_plus_as_a_phone() {
    let app = spawn_app().await;
    let token = |username: &'static str, password: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
    };
    let resp = token("+1 312 555 0152", MM_MANAGER.password).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["id"], MM_MANAGER.id.to_string());
    // the email still works through the same field
    assert_eq!(
        token(MM_MANAGER.email, MM_MANAGER.password)
            .await
            .unwrap()
            .status(),
        200
    );
    let malformed = error_of(token("+1 555 0100", "whatever").await.unwrap(), 422).await;
    assert_eq!(malformed["details"][0]["field"], "username");
    assert!(
        malformed["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("phone number"),
        "the phone's reason, not the email's: {malformed}"
    );
}

#[tokio::test]
async fn a_login_names_exactly_one_of_email_and_phone() {
    let app = spawn_app().await;
    let login = |body: Value| app.post_json("/api/v1/auth/login", body);
    let fields = |error: &Value| -> Vec<Value> {
        error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].clone())
            .collect()
    };
    let both = error_of(
        login(json!({"email": PA_AGENT.email, "phone": phone(&PA_AGENT), "password": PA_AGENT.password}))
            .await,
        422,
    )
    .await;
    assert_eq!(both["type"], "validation_error");
    assert_eq!(fields(&both), [json!("email"), json!("phone")]);
    let neither = error_of(login(json!({"password": PA_AGENT.password})).await, 422).await;
    assert_eq!(fields(&neither), [json!("email"), json!("phone")]);
    let nulls = json!({"email": null, "phone": null, "password": PA_AGENT.password});
    assert_eq!(fields(&error_of(login(nulls).await, 422).await).len(), 2);
    // null is "not sent": the other one signs in
    for body in [
        json!({"email": PA_AGENT.email, "phone": null, "password": PA_AGENT.password}),
        json!({"email": null, "phone": phone(&PA_AGENT), "password": PA_AGENT.password}),
    ] {
        assert_eq!(login(body.clone()).await.status(), 200, "{body}");
    }
}

#[tokio::test]
async fn a_malformed_phone_is_422_on_phone() {
    let app = spawn_app().await;
    for bad in [
        "312 555 0103",
        "+1 555 0100",
        "+1 800 FLOWERS",
        "agent@premiumauto.com",
        "",
    ] {
        let error = error_of(app.login_by_phone(bad, PA_AGENT.password).await, 422).await;
        assert_eq!(error["details"][0]["field"], "phone", "{bad:?}");
        assert_eq!(error["details"].as_array().unwrap().len(), 1, "{bad:?}");
    }
    let wrong_type = app
        .post_json(
            "/api/v1/auth/login",
            json!({"phone": 13125550103u64, "password": PA_AGENT.password}),
        )
        .await;
    assert_eq!(
        error_of(wrong_type, 422).await["type"],
        "validation_error",
        "a number where the phone's text belongs"
    );
}

#[tokio::test]
async fn an_unknown_phone_gets_the_same_401_as_a_wrong_password_byte_for_byte() {
    let app = spawn_app().await;
    // each way of signing in has its one refusal, in its own words: whether the account
    // exists is told by neither
    let by_phone = refusal(
        app.login_by_phone(phone(&PA_AGENT), "not-the-password")
            .await,
    )
    .await;
    assert_eq!(by_phone.0, 401);
    assert_eq!(by_phone.1.as_deref(), Some("Bearer"));
    assert!(
        by_phone.2.contains("wrong phone number or password"),
        "{}",
        by_phone.2
    );
    let unknown_phone = app.login_by_phone("+1 312 555 0177", PA_AGENT.password);
    assert_eq!(
        refusal(unknown_phone.await).await,
        by_phone,
        "unknown phone"
    );
    let by_email = refusal(app.login(PA_AGENT.email, "not-the-password").await).await;
    assert!(
        by_email.2.contains("wrong email or password"),
        "{}",
        by_email.2
    );
    let unknown_email = app.login("nobody@premiumauto.com", PA_AGENT.password);
    assert_eq!(
        refusal(unknown_email.await).await,
        by_email,
        "unknown email"
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_by_phone_lock_the_person_with_429_and_retry_after() {
    let app = spawn_app_with(three_strikes).await;
    let agent = phone(&PA_AGENT);
    for i in 0..3 {
        error_of(app.login_by_phone(agent, &format!("wrong-{i}")).await, 401).await;
    }
    // spelled differently, it is the same number and the same counter
    assert_locked(app.login_by_phone("+1 (312) 555-0103", "wrong-3").await).await;
    error_of(app.login_by_phone(agent, PA_AGENT.password).await, 429).await;
    // one person, one lockout: their email is locked with their phone (issue 22)
    assert_locked(app.login(PA_AGENT.email, PA_AGENT.password).await).await;
    // another number is not affected
    app.login_by_phone_ok(phone(&PA_MANAGER), PA_MANAGER.password)
        .await;

    // an unknown number locks exactly like a known one
    for _ in 0..3 {
        error_of(app.login_by_phone("+1 312 555 0177", "guess").await, 401).await;
    }
    error_of(app.login_by_phone("+1 312 555 0177", "guess").await, 429).await;

    let owner = app.db.owner().await;
    let locked_events = count(
        &owner,
        "SELECT count(*) AS n FROM audit_events WHERE action = 'login.locked' \
         AND changes->>'phone' = '+13125550103'",
    )
    .await;
    assert_eq!(locked_events, 2);
}

#[tokio::test]
async fn a_successful_login_by_phone_resets_the_persons_one_count() {
    let app = spawn_app_with(three_strikes).await;
    // the email and the phone count together: two failures, one by each
    error_of(app.login(PA_AGENT.email, "wrong").await, 401).await;
    error_of(app.login_by_phone(phone(&PA_AGENT), "wrong").await, 401).await;
    app.login_by_phone_ok(phone(&PA_AGENT), PA_AGENT.password)
        .await;
    // without the reset these would be the third and fourth failures and lock the person
    error_of(app.login(PA_AGENT.email, "wrong").await, 401).await;
    error_of(app.login_by_phone(phone(&PA_AGENT), "wrong").await, 401).await;
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    app.login_by_phone_ok(phone(&PA_AGENT), PA_AGENT.password)
        .await;
}

#[tokio::test]
async fn an_inactive_deleted_or_suspended_user_cannot_sign_in_by_phone() {
    let app = spawn_app().await;
    // each passes first, so the refusals below are the change's doing
    for user in [&PA_MANAGER, &PA_AGENT, &MM_AGENT] {
        app.login_by_phone_ok(phone(user), user.password).await;
    }
    let owner = app.db.owner().await;
    exec(
        &owner,
        "UPDATE users SET is_active = false WHERE email = 'manager@premiumauto.com'",
    )
    .await;
    exec(
        &owner,
        "UPDATE users SET deleted_at = now() WHERE email = 'agent@premiumauto.com'",
    )
    .await;
    exec(
        &owner,
        "UPDATE dealerships SET is_active = false WHERE name = 'Metro Motors'",
    )
    .await;
    let wrong = refusal(
        app.login_by_phone(phone(&PA_PRINCIPAL), "not-the-password")
            .await,
    )
    .await;
    for user in [&PA_MANAGER, &PA_AGENT, &MM_AGENT] {
        let resp = app.login_by_phone(phone(user), user.password).await;
        assert_eq!(refusal(resp).await, wrong, "{}", user.email);
    }
}

#[tokio::test]
async fn a_phone_login_is_audited_and_counted_with_the_phone() {
    let app = spawn_app().await;
    // metrics are per process, shared with the other tests' servers: compared, not absolute
    let series = [
        r#"dealergate_logins_total{by="phone",outcome="success"}"#,
        r#"dealergate_logins_total{by="phone",outcome="failure"}"#,
    ];
    let counted = || async {
        let metrics = app.ops("/metrics").await.text().await.unwrap();
        series.map(|s| metric_value(&metrics, s).unwrap_or(0.0))
    };
    let before = counted().await;
    error_of(
        app.login_by_phone("+1 (312) 555-0103", "wrong-password")
            .await,
        401,
    )
    .await;
    app.login_by_phone_ok("+1 (312) 555-0103", PA_AGENT.password)
        .await;
    let owner = app.db.owner().await;
    let rows = owner
        .query_all_raw(sql(
            "SELECT action, actor_id, changes::text AS changes FROM audit_events \
             WHERE action LIKE 'login.%' ORDER BY at, id",
        ))
        .await
        .unwrap();
    let events: Vec<(String, Option<Uuid>, Value)> = rows
        .iter()
        .map(|r| {
            let changes: String = r.try_get("", "changes").unwrap();
            (
                r.try_get("", "action").unwrap(),
                r.try_get("", "actor_id").unwrap(),
                serde_json::from_str(&changes).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                "login.failed".to_owned(),
                Some(PA_AGENT.id),
                json!({"phone": "+13125550103", "reason": "bad_credentials"})
            ),
            (
                "login.succeeded".to_owned(),
                Some(PA_AGENT.id),
                json!({"phone": "+13125550103"})
            ),
        ]
    );
    let after = counted().await;
    for ((series, before), after) in series.iter().zip(before).zip(after) {
        assert!(after >= before + 1.0, "{series}: {before} then {after}");
    }
}

async fn admin(app: &TestApp) -> String {
    app.login_ok(ADMIN.email, ADMIN.password).await.access
}

fn new_agent(email: &str, phone: &str) -> Value {
    json!({"email": email, "password": "a fine passphrase", "first_name": "New", "last_name": "Hire",
           "phone": phone, "role": "agent", "dealership_id": PREMIUM_AUTO})
}

#[tokio::test]
async fn a_phone_taken_by_a_live_user_is_409_naming_the_phone_on_create_and_on_edit() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let taken = "+1 (312) 555-0103"; // the Premium Auto agent's, spelled otherwise
    let phone_conflict = "a user with this phone number already exists";

    let create = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &admin,
            new_agent("new@premiumauto.com", taken),
        )
        .await;
    let error = error_of(create, 409).await;
    assert_eq!(
        (error["type"].as_str(), error["message"].as_str()),
        (Some("conflict"), Some(phone_conflict))
    );
    // the email's conflict still names the email
    let create = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &admin,
            new_agent(PA_MANAGER.email, "+1 312 555 0177"),
        )
        .await;
    assert_eq!(
        error_of(create, 409).await["message"],
        "a user with this email already exists"
    );

    // another dealership's user: phones are unique across tenants, as sign-in comes before one
    let path = format!("/api/v1/users/{}", MM_AGENT.id);
    let edit = app
        .send_as(Method::PATCH, &path, &admin, json!({"phone": taken}))
        .await;
    assert_eq!(error_of(edit, 409).await["message"], phone_conflict);

    let manager = app
        .login_ok(PA_MANAGER.email, PA_MANAGER.password)
        .await
        .access;
    let own = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &manager,
            json!({"phone": taken}),
        )
        .await;
    assert_eq!(error_of(own, 409).await["message"], phone_conflict);

    // nothing changed, and a free number is taken without complaint
    let owner = app.db.owner().await;
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM users WHERE phone = '+13125550103'"
        )
        .await,
        1
    );
    let own = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &manager,
            json!({"phone": "+1 312 555 0177"}),
        )
        .await;
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn a_deleted_users_phone_is_free_for_someone_else_who_then_signs_in_with_it() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let path = format!("/api/v1/users/{}", PA_AGENT.id);
    let deleted = app.send_as(Method::DELETE, &path, &admin, json!({})).await;
    assert_eq!(deleted.status(), 204);
    let create = app
        .send_as(
            Method::POST,
            "/api/v1/users",
            &admin,
            new_agent("successor@premiumauto.com", phone(&PA_AGENT)),
        )
        .await;
    assert_eq!(create.status(), 201);
    let successor: Value = create.json().await.unwrap();
    let tokens = app
        .login_by_phone_ok(phone(&PA_AGENT), "a fine passphrase")
        .await;
    assert_eq!(tokens.body["user"]["id"], successor["id"]);
    // the deleted agent's password no longer opens anything by that number
    error_of(
        app.login_by_phone(phone(&PA_AGENT), PA_AGENT.password)
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn the_phone_lookup_is_narrow_and_only_the_runtime_roles_may_call_it() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Anonymous).await.unwrap();
    let found = tx
        .query_all_raw(sql("SELECT * FROM auth_phone_login_lookup('+13125550103')"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "found by the E.164 number");
    assert_eq!(
        found[0].try_get::<Uuid>("", "user_id").unwrap(),
        PA_AGENT.id
    );
    assert_eq!(
        found[0].column_names(),
        LOGIN_LOOKUP_COLUMNS,
        "nothing more"
    );
    let spelled = tx
        .query_all_raw(sql(
            "SELECT * FROM auth_phone_login_lookup('+1 312 555 0103')",
        ))
        .await
        .unwrap();
    assert!(
        spelled.is_empty(),
        "the server normalises; the lookup matches exactly"
    );
    drop(tx);

    // the platform role asks it as the email lookup (an admin's new user is judged before it
    // is written: it sees every user anyway); the login role itself may not call it
    let tx = pool.begin(Scope::Platform).await.unwrap();
    let found = tx
        .query_all_raw(sql("SELECT * FROM auth_phone_login_lookup('+13125550103')"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "platform scope finds it too");
    drop(tx);
    let login = connect_single(&db.login_url()).await;
    let err = login
        .query_all_raw(sql("SELECT * FROM auth_phone_login_lookup('+13125550103')"))
        .await
        .expect_err("only the runtime role may call it");
    assert!(err.to_string().contains("permission denied"), "{err}");

    // owned by the definer, hardened like auth_login_lookup, executable by the runtime role only
    let owner = db.owner().await;
    let row = owner
        .query_one_raw(sql(
            "SELECT pg_get_userbyid(proowner) AS owner, prosecdef, proconfig::text AS config, \
                    (SELECT string_agg(grantee::regrole::text, ',' ORDER BY grantee::regrole::text) \
                     FROM aclexplode(proacl) WHERE privilege_type = 'EXECUTE') AS callers \
             FROM pg_proc WHERE proname = 'auth_phone_login_lookup'",
        ))
        .await
        .unwrap()
        .expect("the function exists");
    assert_eq!(
        row.try_get::<String>("", "owner").unwrap(),
        "dealergate_definer"
    );
    assert!(row.try_get::<bool>("", "prosecdef").unwrap());
    assert_eq!(
        row.try_get::<String>("", "config").unwrap(),
        "{\"search_path=pg_catalog, pg_temp\"}"
    );
    assert_eq!(
        row.try_get::<String>("", "callers").unwrap(),
        "dealergate_app,dealergate_definer,dealergate_platform"
    );
}

#[tokio::test]
async fn trying_numbers_that_others_hold_is_throttled_so_it_cannot_map_them() {
    let app = spawn_app_with(three_strikes).await;
    let me = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let theirs = phone(&MM_MANAGER);
    for _ in 0..3 {
        let taken = app
            .send_as(
                Method::PATCH,
                "/api/v1/auth/me",
                &me.access,
                json!({"phone": theirs}),
            )
            .await;
        error_of(taken, 409).await;
    }
    let probing = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &me.access,
            json!({"phone": "+1 312 555 0177"}),
        )
        .await;
    assert_locked(probing).await;
    // the rest of the profile still changes; the login is not locked by it
    let renamed = app
        .send_as(
            Method::PATCH,
            "/api/v1/auth/me",
            &me.access,
            json!({"first_name": "Still"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn a_peer_cannot_set_or_take_a_peers_sign_in_phone() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let peer = app
        .create_user(
            &principal.access,
            "peer.principal@premiumauto.com",
            "a fine passphrase",
            "principal",
        )
        .await;
    let peer_id = peer["id"].as_str().unwrap();
    let path = format!("/api/v1/users/{peer_id}");
    let owner = app.db.owner().await;
    let peer_phone = format!("SELECT phone FROM users WHERE id = '{peer_id}'");
    let phone_now = || async {
        owner
            .query_one_raw(sql(&peer_phone))
            .await
            .unwrap()
            .expect("the peer's row")
            .try_get::<Option<String>>("", "phone")
            .unwrap()
    };
    let set = app
        .send_as(
            Method::PATCH,
            &path,
            &principal.access,
            json!({"phone": "+1 312 555 0178"}),
        )
        .await;
    error_of(set, 403).await;
    assert_eq!(phone_now().await, None, "the peer still has no phone");

    // once the peer has one (an admin's doing), the principal can neither take it away nor
    // change it to one of their choosing
    let admin = admin(&app).await;
    let given = app
        .send_as(
            Method::PATCH,
            &path,
            &admin,
            json!({"phone": "+1 312 555 0179"}),
        )
        .await;
    assert_eq!(given.status(), 200);
    assert_eq!(phone_now().await.as_deref(), Some("+13125550179"));
    // an empty string clears a phone (`null` leaves it as it is)
    for take in [json!({"phone": ""}), json!({"phone": "+1 312 555 0178"})] {
        let taken = app
            .send_as(Method::PATCH, &path, &principal.access, take.clone())
            .await;
        error_of(taken, 403).await;
        assert_eq!(
            phone_now().await.as_deref(),
            Some("+13125550179"),
            "{take}: the peer keeps their phone"
        );
    }
    let peer_signs_in = app
        .login_by_phone_ok("+13125550179", "a fine passphrase")
        .await;
    assert_eq!(peer_signs_in.body["user"]["id"], peer_id);
    // below their rank it is theirs to manage, as the email is
    let agent = format!("/api/v1/users/{}", PA_AGENT.id);
    let managed = app
        .send_as(
            Method::PATCH,
            &agent,
            &principal.access,
            json!({"phone": "+1 312 555 0178"}),
        )
        .await;
    assert_eq!(managed.status(), 200);
    let agents = format!(
        "SELECT count(*) AS n FROM users WHERE id = '{}' AND phone = '+13125550178'",
        PA_AGENT.id
    );
    assert_eq!(count(&owner, &agents).await, 1, "the agent's phone is set");
}
