//! Hostile HTTP: malformed, oversized and adversarial requests are answered with the error
//! body of api.md (or, for text that is merely unusual, stored and returned exactly), never a
//! 5xx, and nothing unvalidated reaches the database.

use std::collections::BTreeMap;

use reqwest::{Method, Response};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    ADMIN, DEMO_USERS, METRO_MOTORS, PA_AGENT, PREMIUM_AUTO, TestApp, count, error_of, spawn_app,
};

const AGENT_ID: &str = "0193a5f0-0000-7000-8000-000000000103";

/// A request with a raw body and content type, as the caller with `token` (if any).
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Response {
    let mut req = app.client.request(method, app.url(path)).body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        req = req.header("content-type", content_type);
    }
    req.send().await.expect("request sent")
}

/// The endpoints that take a JSON body, with a body they would accept.
fn json_endpoints() -> Vec<(Method, String, bool)> {
    vec![
        (Method::POST, "/api/v1/auth/login".into(), false),
        (Method::POST, "/api/v1/auth/refresh".into(), false),
        (Method::PATCH, "/api/v1/auth/me".into(), true),
        (Method::POST, "/api/v1/users".into(), true),
        (Method::PATCH, format!("/api/v1/users/{AGENT_ID}"), true),
        (Method::POST, "/api/v1/dealerships".into(), true),
        (
            Method::PATCH,
            format!("/api/v1/dealerships/{PREMIUM_AUTO}"),
            true,
        ),
    ]
}

fn nested(depth: usize, open: &str, close: &str) -> Vec<u8> {
    format!("{}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

#[tokio::test]
async fn malformed_json_bodies_are_400_with_the_error_body() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let before = stored_rows(&app).await;
    let nested_objects = {
        let mut doc = br#"{"first_name":"#.to_vec();
        doc.extend("{\"a\":".repeat(5_000).bytes());
        doc.push(b'1');
        doc.extend("}".repeat(5_001).bytes());
        doc
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid UTF-8",
            b"{\"email\":\"\xff\xfe\xfd\",\"password\":\"x\"}".to_vec(),
        ),
        ("invalid UTF-8 in a key", b"{\"\xc3\x28\":1}".to_vec()),
        (
            "a lone surrogate escape",
            br#"{"first_name":"\ud800"}"#.to_vec(),
        ),
        ("truncated", br#"{"first_name":"Al"#.to_vec()),
        ("empty", Vec::new()),
        ("a bare string", br#""hello""#.to_vec()),
        ("an array", b"[1,2,3]".to_vec()),
        ("null", b"null".to_vec()),
        ("trailing garbage", br#"{"first_name":"Al"} {}"#.to_vec()),
        ("deeply nested arrays", nested(5_000, "[", "]")),
        ("deeply nested objects", nested_objects),
    ];
    for (method, path, needs_token) in json_endpoints() {
        for (name, body) in &cases {
            let token = needs_token.then_some(admin.as_str());
            let resp = send(
                &app,
                method.clone(),
                &path,
                token,
                Some("application/json"),
                body.clone(),
            )
            .await;
            let status = resp.status().as_u16();
            assert_eq!(status, 400, "{method} {path} with {name}");
            let error = error_of(resp, 400).await;
            assert_eq!(error["type"], "bad_request", "{method} {path} with {name}");
            assert!(error["details"].is_array(), "{error}");
        }
    }
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn a_wrong_json_type_in_a_field_is_422_naming_it_and_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let before = stored_rows(&app).await;
    let agent = format!("/api/v1/users/{AGENT_ID}");
    let deep_value = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let cases: Vec<(Method, &str, String)> = vec![
        (
            Method::PATCH,
            "/api/v1/auth/me",
            r#"{"first_name":42}"#.into(),
        ),
        (
            Method::PATCH,
            "/api/v1/auth/me",
            r#"{"last_name":true}"#.into(),
        ),
        (Method::PATCH, "/api/v1/auth/me", r#"{"phone":0}"#.into()),
        (
            Method::PATCH,
            "/api/v1/auth/me",
            format!(r#"{{"first_name":{deep_value}}}"#),
        ),
        (Method::PATCH, &agent, r#"{"email":{"$ne":null}}"#.into()),
        (Method::PATCH, &agent, r#"{"is_active":"false"}"#.into()),
        (Method::PATCH, &agent, r#"{"role":"root"}"#.into()),
        (Method::POST, "/api/v1/dealerships", r#"{"name":12}"#.into()),
        (
            Method::POST,
            "/api/v1/auth/login",
            r#"{"email":5,"password":"x"}"#.into(),
        ),
        (
            Method::POST,
            "/api/v1/auth/login",
            r#"{"email":"a@b.co","password":["x"]}"#.into(),
        ),
    ];
    let me_before = app
        .get_as("/api/v1/auth/me", &admin)
        .await
        .text()
        .await
        .unwrap();
    for (method, path, body) in cases {
        let resp = send(
            &app,
            method.clone(),
            path,
            Some(&admin),
            Some("application/json"),
            body.clone().into_bytes(),
        )
        .await;
        let error = error_of(resp, 422).await;
        assert_eq!(error["type"], "validation_error", "{method} {path} {body}");
    }
    let after = app
        .get_as("/api/v1/auth/me", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(me_before, after, "nothing changed");
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn a_huge_json_body_is_413_before_it_is_parsed() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let huge = json!({ "first_name": "a".repeat(2 * 1024 * 1024) }).to_string();
    let many_keys: Value = (0..20_000)
        .map(|i| (format!("k{i}"), json!(i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    for body in [huge, many_keys.to_string()] {
        for (method, path, needs_token) in json_endpoints() {
            let token = needs_token.then_some(admin.as_str());
            let resp = send(
                &app,
                method.clone(),
                &path,
                token,
                Some("application/json"),
                body.clone().into_bytes(),
            )
            .await;
            let error = error_of(resp, 413).await;
            assert_eq!(error["type"], "payload_too_large", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn unknown_content_types_are_400_with_the_error_body() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let before = stored_rows(&app).await;
    let body = br#"{"first_name":"Alex"}"#.to_vec();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=x"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json-patch+json; charset=utf-8; x"),
        Some("image/png"),
        Some("*/*"),
        Some("garbage"),
        Some(";;;"),
    ] {
        for (method, path, needs_token) in json_endpoints() {
            let token = needs_token.then_some(admin.as_str());
            let resp = send(
                &app,
                method.clone(),
                &path,
                token,
                content_type,
                body.clone(),
            )
            .await;
            let error = error_of(resp, 400).await;
            assert_eq!(
                error["type"], "bad_request",
                "{method} {path} as {content_type:?}"
            );
        }
    }
    // the OAuth2 form endpoint refuses JSON the same way
    let resp = send(
        &app,
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some("application/json"),
        br#"{"grant_type":"password"}"#.to_vec(),
    )
    .await;
    assert_eq!(error_of(resp, 400).await["type"], "bad_request");
    assert_untouched(&app, &before).await;
}

/// One raw HTTP/1.1 request on its own connection; returns the status and body (`None` when
/// the server closes the connection without an answer).
async fn raw_request(app: &TestApp, head: &[u8]) -> Option<(u16, Vec<u8>)> {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // a server that stops reading may reset the connection while we still write
    if stream.write_all(head).await.is_err() {
        return None;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("answered or closed in time");
    if read.is_err() && answer.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| answer[at + 4..].to_vec())
        .unwrap_or_default();
    Some((status, body))
}

fn head_with(extra: &str) -> Vec<u8> {
    format!("GET /api/v1/auth/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
        .into_bytes()
}

#[tokio::test]
async fn oversized_duplicated_and_numerous_headers_are_refused_with_the_error_body() {
    let app = spawn_app().await;
    let token = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    let auth = format!("Authorization: Bearer {token}\r\n");
    let padding = |kib: usize| format!("X-Padding: {}\r\n", "a".repeat(kib * 1024));
    // (case, headers, status, with the JSON error body)
    let cases: Vec<(&str, String, u16, bool)> = vec![
        (
            "a 16 KiB header line",
            format!("{auth}{}", padding(16)),
            431,
            true,
        ),
        (
            "a 200 KiB header line",
            format!("{auth}{}", padding(200)),
            431,
            true,
        ),
        (
            "a 16 KiB token",
            format!("Authorization: Bearer {}\r\n", "a".repeat(16 * 1024)),
            431,
            true,
        ),
        (
            "a 16 KiB user agent",
            format!("{auth}User-Agent: {}\r\n", "a".repeat(16 * 1024)),
            431,
            true,
        ),
        (
            "90 headers of 1 KiB",
            format!(
                "{auth}{}",
                (0..90)
                    .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(1024)))
                    .collect::<String>()
            ),
            431,
            true,
        ),
        (
            "a second Authorization header",
            auth.clone() + "Authorization: Bearer forged\r\n",
            400,
            true,
        ),
        (
            "150 small headers",
            format!(
                "{auth}{}",
                (0..150)
                    .map(|i| format!("X-H{i}: {i}\r\n"))
                    .collect::<String>()
            ),
            431,
            true,
        ),
        // past what hyper parses at all it refuses by itself, before the application runs
        (
            "1500 small headers",
            format!(
                "{auth}{}",
                (0..1500)
                    .map(|i| format!("X-H{i}: {i}\r\n"))
                    .collect::<String>()
            ),
            431,
            false,
        ),
    ];
    let mut problems = Vec::new();
    for (name, headers, expected, shaped) in cases {
        match raw_request(&app, &head_with(&headers)).await {
            Some((status, body)) => {
                let error: Option<Value> = serde_json::from_slice(&body).ok();
                let has_shape = error.is_some_and(|e| e["error"]["type"].is_string());
                if status != expected || (shaped && !has_shape) {
                    problems.push(format!(
                        "{name}: {status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(80)])
                    ));
                }
            }
            None => problems.push(format!("{name}: closed without an answer")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // long but within the limits: served
    let ok = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .header("X-Padding", "c".repeat(4 * 1024))
        .header("User-Agent", "d".repeat(2 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn hostile_bytes_in_the_url_and_headers_are_4xx_with_the_error_body() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    // what cannot be read as the parameter's type is malformed (400); a number read but out
    // of range is invalid (422)
    for (path, status, kind) in [
        ("/api/v1/users?q=%FF%FE", 400, "bad_request"),
        ("/api/v1/users?q=%C3%28", 400, "bad_request"),
        ("/api/v1/users/%FF", 400, "bad_request"),
        ("/api/v1/users/'%20OR%201=1--", 400, "bad_request"),
        ("/api/v1/users?limit=1e400", 400, "bad_request"),
        ("/api/v1/users?limit=-1", 422, "validation_error"),
        ("/api/v1/users?role=admin'--", 400, "bad_request"),
        ("/api/v1/users?is_active=yes", 400, "bad_request"),
        (
            "/api/v1/audit-events?since=2026-13-45T99:99:99Z",
            400,
            "bad_request",
        ),
        (
            "/api/v1/audit-events?actor_id=../../etc/passwd",
            400,
            "bad_request",
        ),
        ("/api/v1/dealerships/%E2%80%AE", 400, "bad_request"),
    ] {
        let resp = app.get_as(path, &admin).await;
        let error = error_of(resp, status).await;
        assert_eq!(error["type"], kind, "{path}: {error}");
    }
    // non-UTF-8 bytes in a token are a 401, not a crash
    let head = b"GET /api/v1/auth/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\r\n\r\n";
    let (status, body) = raw_request(&app, head).await.expect("an answer");
    assert_eq!(status, 401);
    let error: Value = serde_json::from_slice(&body).expect("the error body");
    assert_eq!(error["error"]["type"], "unauthenticated");
}

#[tokio::test]
async fn sql_metacharacters_in_the_search_are_literal() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    for q in ["' OR '1'='1", "%", "_", "\\", "%' --", "*", "a%b"] {
        let resp = app
            .client
            .get(app.url("/api/v1/users"))
            .query(&[("q", q)])
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{q}");
        let users: Vec<Value> = resp.json().await.unwrap();
        assert!(users.is_empty(), "{q} matched {} users", users.len());
    }
}

/// Text that is unusual but harmless: it must be stored and returned exactly, or refused
/// with a 422 naming the field (a field with a narrower alphabet, such as a phone).
const UNUSUAL: &[(&str, &str)] = &[
    ("sql", "Robert'); DROP TABLE users;--"),
    ("sql quote", "O'Brien \"the\" `tick`"),
    ("like wildcards", "100%_\\x"),
    ("script", "<script>alert(\"x\")</script>"),
    ("markup", "\"><img src=x onerror=alert(1)>"),
    ("template", "${7*7}{{7*7}}<%= 7*7 %>"),
    (
        "long unicode",
        "\u{fc}\u{f6}\u{e4}\u{df}\u{e9}\u{e8}\u{1f697}\u{4e2d}\u{6587}\u{0639}\u{0631}\u{0628}\u{064a}",
    ),
    (
        "emoji at the limit",
        "\u{1f697}\u{1f699}\u{1f695}\u{1f68c}\u{1f3ce}\u{fe0f}",
    ),
    ("combining marks", "e\u{301}a\u{300}o\u{302}\u{323}"),
    (
        "right-to-left text with a mark",
        "\u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200f}",
    ),
];

/// Text that can make a name display as something else (Trojan Source, CVE-2021-42574), or
/// that no field of these shapes holds: always refused with a 422 naming the field.
const REFUSED: &[(&str, &str)] = &[
    ("right-to-left override", "abc\u{202e}fdp.exe"),
    ("left-to-right override", "\u{202d}admin"),
    ("embedding", "x\u{202b}y\u{202c}"),
    ("isolate", "\u{2067}abc\u{2069}"),
    ("first-strong isolate", "\u{2068}abc\u{2069}"),
    ("bell", "ding\u{7}"),
    ("escape sequence", "\u{1b}[31mred\u{1b}[0m"),
    ("over the length limit", "\u{fc}"),
];

/// A string field of a create or update body, with a valid body around it.
struct FieldCase {
    method: Method,
    path: String,
    field: &'static str,
    /// A valid body; `{n}` makes unique values unique per case.
    body: fn(usize) -> Value,
    /// Longest accepted value in characters.
    max_chars: usize,
    /// Whether the field is also returned in the response (passwords are not).
    returned: bool,
    /// Where the stored value is read back: table and column.
    stored: (&'static str, &'static str),
}

fn user_body(n: usize) -> Value {
    json!({
        "email": format!("hostile{n}@example.com"),
        "password": "correct horse battery",
        "first_name": "Host",
        "last_name": "Ile",
        "role": "agent",
        "dealership_id": PREMIUM_AUTO,
    })
}

fn dealership_body(n: usize) -> Value {
    json!({ "name": format!("Hostile Motors {n}") })
}

impl FieldCase {
    /// The valid body, limit and column of `field` at `method path`.
    fn new(method: Method, path: String, field: &'static str) -> Self {
        let created = method == Method::POST;
        let body: fn(usize) -> Value = match path.as_str() {
            "/api/v1/users" if created => user_body,
            "/api/v1/dealerships" if created => dealership_body,
            _ => |_| json!({}),
        };
        let max_chars = match field {
            "first_name" | "last_name" => 100,
            "phone" | "contact_phone" => 32,
            "password" => 128,
            "name" => 200,
            "address" => 500,
            _ => 254, // email addresses
        };
        let table = if path.contains("dealerships") {
            "dealerships"
        } else {
            "users"
        };
        let column = if field == "password" {
            "password_hash"
        } else {
            field
        };
        Self {
            method,
            path,
            field,
            body,
            max_chars,
            returned: field != "password",
            stored: (table, column),
        }
    }
}

fn field_cases() -> Vec<FieldCase> {
    let users = "/api/v1/users".to_owned();
    let user = format!("/api/v1/users/{AGENT_ID}");
    let me = "/api/v1/auth/me".to_owned();
    let dealerships = "/api/v1/dealerships".to_owned();
    let dealership = format!("/api/v1/dealerships/{PREMIUM_AUTO}");
    let user_fields = ["email", "first_name", "last_name", "phone"];
    let dealership_fields = ["name", "address", "contact_email", "contact_phone"];
    let mut cases = Vec::new();
    for field in user_fields.iter().chain(&["password"]) {
        cases.push(FieldCase::new(Method::POST, users.clone(), field));
    }
    for field in user_fields {
        cases.push(FieldCase::new(Method::PATCH, user.clone(), field));
    }
    for field in ["first_name", "last_name", "phone"] {
        cases.push(FieldCase::new(Method::PATCH, me.clone(), field));
    }
    for field in dealership_fields {
        cases.push(FieldCase::new(Method::POST, dealerships.clone(), field));
        cases.push(FieldCase::new(Method::PATCH, dealership.clone(), field));
    }
    cases
}

/// The value to send: email fields get an address around the text, long-text cases are
/// stretched to the field's limit (or just over it), and unique fields get a unique prefix.
fn value_for(case: &FieldCase, name: &str, text: &str, n: usize) -> String {
    if name == "over the length limit" {
        if case.field.ends_with("email") {
            return format!("{}@example.com", "a".repeat(250));
        }
        return text.repeat(case.max_chars + 1);
    }
    let unique = case.field == "name";
    let room = case.max_chars.min(500) - if unique { 5 } else { 0 };
    let text: String = match name {
        "long unicode" => text.chars().cycle().take(room).collect(),
        "emoji at the limit" => "\u{1f697}".repeat(room),
        _ => text.to_owned(),
    };
    if case.field.ends_with("email") {
        // lower-case, as addresses are stored lower-cased; within 254 bytes
        let local: String = text.to_lowercase().chars().take(40).collect();
        return format!("{local}{n}@example.com");
    }
    if unique {
        return format!("{n:04} {text}");
    }
    text
}

async fn stored(app: &TestApp, table: &str, column: &str, id: &str) -> Option<String> {
    let owner = app.db.owner().await;
    owner
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT {column}::text AS v FROM {table} WHERE id = $1::uuid"),
            [id.into()],
        ))
        .await
        .expect("read back")
        .and_then(|row| row.try_get::<Option<String>>("", "v").ok().flatten())
}

async fn rows_holding(app: &TestApp, table: &str, column: &str, value: &str) -> i64 {
    let owner = app.db.owner().await;
    owner
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT count(*) AS n FROM {table} WHERE {column} = $1"),
            [value.into()],
        ))
        .await
        .expect("count")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("n")
}

#[tokio::test]
async fn hostile_text_in_every_string_field_is_refused_or_stored_exactly() {
    let app = spawn_app().await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let before = stored_rows(&app).await;
    let mut n = 0;
    let mut problems = Vec::new();
    for case in field_cases() {
        for (name, text, refused) in UNUSUAL
            .iter()
            .map(|(n, t)| (*n, *t, false))
            .chain(REFUSED.iter().map(|(n, t)| (*n, *t, true)))
        {
            // a password is never displayed: any character is fine there, only length counts
            let must_refuse = refused && (case.returned || name == "over the length limit");
            n += 1;
            let value = value_for(&case, name, text, n);
            let mut body = (case.body)(n);
            body[case.field] = json!(value);
            let resp = app
                .as_user(case.method.clone(), &case.path, &admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let what = format!("{} {} {} = {name}", case.method, case.path, case.field);
            match status {
                200 | 201 if !must_refuse => {
                    let answer: Value = resp.json().await.unwrap();
                    let id = answer["id"].as_str().expect("an id").to_owned();
                    if case.returned && answer[case.field] != json!(value) {
                        problems.push(format!("{what}: returned {}", answer[case.field]));
                    }
                    let (table, column) = case.stored;
                    let kept = stored(&app, table, column, &id).await;
                    if case.field == "password" {
                        if kept.as_deref() == Some(value.as_str()) {
                            problems.push(format!("{what}: stored in clear"));
                        }
                    } else if kept.as_deref() != Some(value.as_str()) {
                        problems.push(format!("{what}: stored {kept:?}"));
                    }
                }
                422 => {
                    let error = error_of(resp, 422).await;
                    let named = error["details"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|f| f["field"] == case.field));
                    if !named {
                        problems.push(format!("{what}: 422 not naming the field: {error}"));
                    }
                    let (table, column) = case.stored;
                    if case.field != "password"
                        && rows_holding(&app, table, column, &value).await != 0
                    {
                        problems.push(format!("{what}: refused, yet stored"));
                    }
                }
                _ => problems.push(format!("{what}: answered {status}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // the agent, the admin (as /auth/me) and Premium Auto were edited; nobody else
    let edited = [
        AGENT_ID.to_owned(),
        ADMIN.id.to_string(),
        PREMIUM_AUTO.to_string(),
    ];
    assert_only_edited(&app, &before, &edited).await;
}

/// Every column of every stored user and dealership (the demo rows and any others), as the
/// superuser reads them: the row's text by its id.
async fn stored_rows(app: &TestApp) -> BTreeMap<String, String> {
    let owner = app.db.owner().await;
    let mut rows = BTreeMap::new();
    for table in ["users", "dealerships"] {
        // a user row shows its dealership's name, which is the dealership's row, not the user's
        let sql = format!(
            "SELECT id::text AS id, (to_jsonb(t) - 'dealership_name')::text AS row FROM {table} t"
        );
        for row in owner
            .query_all_raw(Statement::from_string(DbBackend::Postgres, sql.clone()))
            .await
            .expect(&sql)
        {
            rows.insert(
                row.try_get::<String>("", "id").expect("id"),
                row.try_get::<String>("", "row").expect("row"),
            );
        }
    }
    rows
}

/// The ids of the demo users and dealerships.
fn demo_ids() -> Vec<String> {
    DEMO_USERS
        .iter()
        .map(|u| u.id)
        .chain([PREMIUM_AUTO, METRO_MOTORS])
        .map(|id| id.to_string())
        .collect()
}

/// Nothing stored changed since `before` ([`stored_rows`] then): no row added, removed or
/// altered, the demo rows among them.
async fn assert_untouched(app: &TestApp, before: &BTreeMap<String, String>) {
    let now = stored_rows(app).await;
    for id in demo_ids() {
        assert!(before.contains_key(&id), "demo row {id} before");
    }
    for (id, was) in before {
        assert_eq!(now.get(id), Some(was), "{id} changed");
    }
    let added: Vec<_> = now.keys().filter(|id| !before.contains_key(*id)).collect();
    assert!(added.is_empty(), "rows added: {added:?}");
}

/// Only the rows of `edited` changed since `before` (rows may be added): every other row is as
/// it was, the demo ones among them, and the edited ones are still there and not deleted.
async fn assert_only_edited(app: &TestApp, before: &BTreeMap<String, String>, edited: &[String]) {
    let now = stored_rows(app).await;
    for id in demo_ids() {
        assert!(now.contains_key(&id), "demo row {id} is gone");
    }
    let owner = app.db.owner().await;
    for id in edited {
        let live = format!(
            "SELECT (SELECT count(*) FROM users WHERE id = '{id}' AND deleted_at IS NULL) \
                  + (SELECT count(*) FROM dealerships WHERE id = '{id}' AND deleted_at IS NULL) AS n"
        );
        assert_eq!(count(&owner, &live).await, 1, "{id} is still live");
    }
    for (id, was) in before {
        if !edited.contains(id) {
            assert_eq!(now.get(id), Some(was), "{id} was not edited, yet changed");
        }
    }
}
