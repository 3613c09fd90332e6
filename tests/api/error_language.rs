//! Errors in the API's language (issue 21, item 4): fields and parameters named by their JSON
//! and URL names, what was expected said in words, never a framework type name; one message
//! for every failed sign-in; the accepted content type named; and the sign-in answer showing
//! this sign-in. Each test quotes the old answer it replaces.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, MM_AGENT, PA_AGENT, PA_MANAGER, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, Tokens, error_of,
    exec,
    mfa::{challenge, enrol, verify},
    spawn_app, spawn_app_with,
};

/// Words of poem-openapi's own messages that an answer must never carry.
const FRAMEWORK_WORDS: [&str; 8] = [
    "Expected input type",
    "occurred while parsing",
    "optional_",
    "LoginRequest",
    "string_uuid",
    "param0",
    "failed to parse",
    "Content-Type` requested by the client",
];

/// The error of `resp`, asserted to be exactly `status`, `kind`, `message` and `details`, and
/// free of framework words.
async fn assert_answer(resp: Response, status: u16, kind: &str, message: &str, details: Value) {
    let error = error_of(resp, status).await;
    let said = error.to_string();
    for word in FRAMEWORK_WORDS {
        assert!(!said.contains(word), "{word:?} in {said}");
    }
    assert_eq!(
        (&error["type"], &error["message"], &error["details"]),
        (&json!(kind), &json!(message), &details),
        "{said}"
    );
}

async fn raw(app: &TestApp, path: &str, content_type: Option<&str>, body: &str) -> Response {
    let mut req = app.client.post(app.url(path)).body(body.to_owned());
    if let Some(content_type) = content_type {
        req = req.header("content-type", content_type);
    }
    req.send().await.expect("request sent")
}

fn no_lockout(s: &mut dealergate::config::Settings) {
    s.auth.lockout.delay_after = 100;
    s.auth.lockout.account_max_failures = 100;
    s.auth.lockout.ip_max_failures = 100;
}

#[tokio::test]
async fn a_wrong_json_type_names_the_field_and_says_what_was_expected() {
    let app = spawn_app().await;
    // before: 422 on `body`: `Expected input type "optional_string", found 42. (occurred while
    // parsing "LoginRequest")`
    let login = |body: Value| app.post_json("/api/v1/auth/login", body);
    assert_answer(
        login(json!({"email": 42, "password": "x"})).await,
        422,
        "validation_error",
        "email: must be a string",
        json!([{"field": "email", "message": "must be a string"}]),
    )
    .await;
    // before: `Expected input type "string", found null. (occurred while parsing …)` for both
    assert_answer(
        login(json!({"email": "a@b.co"})).await,
        422,
        "validation_error",
        "password: is required",
        json!([{"field": "password", "message": "is required"}]),
    )
    .await;
    assert_answer(
        login(json!({"email": "a@b.co", "password": null})).await,
        422,
        "validation_error",
        "password: must be a string",
        json!([{"field": "password", "message": "must be a string"}]),
    )
    .await;
    // every wrong field is listed
    assert_answer(
        login(json!({"email": true, "phone": [], "password": 1})).await,
        422,
        "validation_error",
        "email: must be a string",
        json!([
            {"field": "email", "message": "must be a string"},
            {"field": "password", "message": "must be a string"},
            {"field": "phone", "message": "must be a string"},
        ]),
    )
    .await;
    // before: 400 `malformed request body: Expected input type "LoginRequest", found [].`
    let json = Some("application/json");
    assert_answer(
        raw(&app, "/api/v1/auth/login", json, "[]").await,
        400,
        "bad_request",
        "the request body must be a JSON object",
        json!([]),
    )
    .await;
    assert_answer(
        raw(&app, "/api/v1/auth/login", json, "").await,
        400,
        "bad_request",
        "the request body is empty: expected a JSON object",
        json!([]),
    )
    .await;
    // malformed JSON keeps serde's own words, which name no type
    let malformed = error_of(
        raw(&app, "/api/v1/auth/login", json, "{not json").await,
        400,
    )
    .await;
    assert_eq!(malformed["type"], "bad_request");
    assert!(
        malformed["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed request body: key must be a string"),
        "{malformed}"
    );
}

#[tokio::test]
async fn nested_fields_enums_and_booleans_are_named_with_dotted_names() {
    let app = spawn_app().await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    // before: `Expected input type "PermissionAction", found "fly". (occurred while parsing
    // "Permission") (occurred while parsing "list_Permission") (occurred while parsing
    // "CreateRole")` on `body`
    let role = json!({"name": "finance", "base_role": "agent",
                      "permissions": [{"resource": "users", "action": "read", "scope": "self"},
                                      {"resource": "users", "action": "fly", "scope": 3}]});
    assert_answer(
        app.send_as(Method::POST, "/api/v1/roles", &principal, role)
            .await,
        422,
        "validation_error",
        "permissions.1.action: must be one of: list, read, create, update, delete",
        json!([
            {"field": "permissions.1.action",
             "message": "must be one of: list, read, create, update, delete"},
            {"field": "permissions.1.scope", "message": "must be one of: self, dealership, group, any"},
        ]),
    )
    .await;
    // before: `Expected input type "boolean", found "yes". (occurred while parsing
    // "optional_boolean") (occurred while parsing "UpdateDealership")` on `body`
    let path = format!("/api/v1/dealerships/{PREMIUM_AUTO}");
    assert_answer(
        app.send_as(
            Method::PATCH,
            &path,
            &principal,
            json!({"is_active": "yes"}),
        )
        .await,
        422,
        "validation_error",
        "is_active: must be true or false",
        json!([{"field": "is_active", "message": "must be true or false"}]),
    )
    .await;
    // a UUID in a body
    let user = json!({"email": "n@premiumauto.com", "password": "a long passphrase",
                      "first_name": "N", "last_name": "H", "role": "agent",
                      "dealership_id": "premium-auto"});
    assert_answer(
        app.send_as(Method::POST, "/api/v1/users", &principal, user)
            .await,
        422,
        "validation_error",
        "dealership_id: must be a UUID",
        json!([{"field": "dealership_id", "message": "must be a UUID"}]),
    )
    .await;
}

#[tokio::test]
async fn a_bad_path_or_query_parameter_is_named_by_its_own_name() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    // before: 400 `failed to parse path `param0`: failed to parse "string_uuid": invalid
    // character: found `n` at 0`
    for path in [
        "/api/v1/users/not-a-uuid",
        "/api/v1/users/not-a-uuid/toggle-active",
        "/api/v1/dealerships/12345",
    ] {
        let resp = if path.ends_with("toggle-active") {
            app.as_user(Method::PATCH, path, &admin)
                .send()
                .await
                .unwrap()
        } else {
            app.get_as(path, &admin).await
        };
        assert_answer(
            resp,
            400,
            "bad_request",
            "id: must be a UUID",
            json!([{"field": "id", "message": "must be a UUID"}]),
        )
        .await;
    }
    // before: `failed to parse parameter `is_active`: failed to parse "boolean": provided string
    // was not `true` or `false` (occurred while parsing "optional_boolean")`
    for (path, field, message) in [
        (
            "/api/v1/users?is_active=yes",
            "is_active",
            "must be true or false",
        ),
        ("/api/v1/users?limit=lots", "limit", "must be an integer"),
        (
            "/api/v1/users?role=boss",
            "role",
            "must be one of: admin, group_principal, principal, group_manager, manager, agent",
        ),
        (
            "/api/v1/users?dealership_id=x",
            "dealership_id",
            "must be a UUID",
        ),
        (
            "/api/v1/audit-events?since=yesterday",
            "since",
            "must be a date and time (RFC 3339)",
        ),
    ] {
        assert_answer(
            app.get_as(path, &admin).await,
            400,
            "bad_request",
            &format!("{field}: {message}"),
            json!([{"field": field, "message": message}]),
        )
        .await;
    }
}

#[tokio::test]
async fn every_failed_sign_in_gets_one_message_and_other_401s_keep_theirs() {
    let app = spawn_app_with(no_lockout).await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        "UPDATE users SET is_active = false WHERE email = 'manager@premiumauto.com'",
    )
    .await;
    // before: 401 `authentication required`, as for a missing token
    let by_email = [
        app.login(PA_AGENT.email, "not-the-password").await,
        app.login("nobody@premiumauto.com", PA_AGENT.password).await,
        app.login(PA_MANAGER.email, PA_MANAGER.password).await,
        raw(
            &app,
            "/api/v1/auth/token",
            Some("application/x-www-form-urlencoded"),
            "grant_type=password&username=agent%40premiumauto.com&password=nope",
        )
        .await,
    ];
    for resp in by_email {
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert_answer(
            resp,
            401,
            "unauthenticated",
            "wrong email or password",
            json!([]),
        )
        .await;
    }
    let by_phone = [
        app.login_by_phone(MM_AGENT.phone.unwrap(), "not-the-password")
            .await,
        app.login_by_phone("+13125550199", MM_AGENT.password).await,
        app.login_by_phone(PA_MANAGER.phone.unwrap(), PA_MANAGER.password)
            .await,
    ];
    for resp in by_phone {
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert_answer(
            resp,
            401,
            "unauthenticated",
            "wrong phone number or password",
            json!([]),
        )
        .await;
    }
    // a missing or bad token is not a failed sign-in
    for resp in [
        app.get("/api/v1/auth/me").await,
        app.get_as("/api/v1/auth/me", "not-a-token").await,
        app.refresh("not-a-refresh-token").await,
    ] {
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert_answer(
            resp,
            401,
            "unauthenticated",
            "authentication required",
            json!([]),
        )
        .await;
    }
    // a wrong current password before a change is still a 422 on the field
    let agent = app.login_ok(MM_AGENT.email, MM_AGENT.password).await.access;
    let change = json!({"current_password": "not-it", "new_password": "another long one"});
    assert_answer(
        app.send_as(Method::POST, "/api/v1/auth/password", &agent, change)
            .await,
        422,
        "validation_error",
        "current_password: is not correct",
        json!([{"field": "current_password", "message": "is not correct"}]),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_code_at_the_second_step_says_so() {
    let app = spawn_app_with(no_lockout).await;
    let plain = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = enrol(&app, &plain.access, PA_AGENT.password).await;
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let right = enrolled.app.next_code().await;
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    // before: 401 `authentication required`
    let resp = verify(&app, &mfa_token, json!({"code": wrong})).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_answer(resp, 401, "unauthenticated", "wrong code", json!([])).await;
    // a well-formed recovery code that is none of the user's: their first one backwards
    let not_theirs: String = enrolled.recovery_codes[0].chars().rev().collect();
    let resp = verify(&app, &mfa_token, json!({"recovery_code": not_theirs})).await;
    assert_answer(resp, 401, "unauthenticated", "wrong code", json!([])).await;
    // a dead mfa_token is a bad token, not a wrong code
    let resp = verify(&app, "not-an-mfa-token", json!({"code": right})).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_answer(
        resp,
        401,
        "unauthenticated",
        "authentication required",
        json!([]),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_content_type_names_the_accepted_one() {
    let app = spawn_app().await;
    // before: 400 "the `Content-Type` requested by the client is not supported: text/plain"
    for (path, content_type, body, accepted) in [
        (
            "/api/v1/auth/login",
            Some("text/plain"),
            "email=a",
            "application/json",
        ),
        ("/api/v1/auth/login", None, "{}", "application/json"),
        (
            "/api/v1/auth/token",
            Some("application/json"),
            r#"{"grant_type":"password","username":"a","password":"b"}"#,
            "application/x-www-form-urlencoded",
        ),
    ] {
        assert_answer(
            raw(&app, path, content_type, body).await,
            400,
            "bad_request",
            &format!("expected content type {accepted}"),
            json!([]),
        )
        .await;
    }
}

async fn last_login_seen_by_me(app: &TestApp, access: &str) -> Value {
    let resp = app.get_as("/api/v1/auth/me", access).await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["last_login"].clone()
}

/// `last_login` as a time, asserted present.
fn at(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a last_login")).unwrap()
}

#[tokio::test]
async fn the_sign_in_answer_shows_this_sign_in() {
    let app = spawn_app().await;
    // before: each answer showed the sign-in before it (`null` for the first)
    let first = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let first_at = first.body["user"]["last_login"].clone();
    assert_eq!(first_at, last_login_seen_by_me(&app, &first.access).await);
    let second = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let second_at = second.body["user"]["last_login"].clone();
    assert_eq!(second_at, last_login_seen_by_me(&app, &second.access).await);
    assert!(
        at(&second_at) > at(&first_at),
        "{first_at} then {second_at}"
    );
    // the OAuth2 form too
    let form = raw(
        &app,
        "/api/v1/auth/token",
        Some("application/x-www-form-urlencoded"),
        "grant_type=password&username=agent%40premiumauto.com&password=Agent123!",
    )
    .await;
    let form = Tokens::read(form).await;
    let form_at = form.body["user"]["last_login"].clone();
    assert_eq!(form_at, last_login_seen_by_me(&app, &form.access).await);
    assert!(at(&form_at) > at(&second_at));
    // and the second step of a sign-in with a second factor
    let enrolled = enrol(&app, &form.access, PA_AGENT.password).await;
    let mfa_token = challenge(&app, PA_AGENT.email, PA_AGENT.password).await;
    let code = enrolled.app.next_code().await;
    let verified = Tokens::read(verify(&app, &mfa_token, json!({"code": code})).await).await;
    let verified_at = verified.body["user"]["last_login"].clone();
    assert_eq!(
        verified_at,
        last_login_seen_by_me(&app, &verified.access).await
    );
    assert!(at(&verified_at) > at(&form_at));
}
