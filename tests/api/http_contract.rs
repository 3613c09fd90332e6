//! The HTTP contract every endpoint shares: the error body, request ids, body limits, paths.

use crate::helpers::{error_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_unknown_path_is_a_json_404_naming_the_request() {
    let app = spawn_app().await;
    let error = error_of(app.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(error["type"], "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let resp = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let error = error_of(resp, 405).await;
    assert_eq!(error["type"], "method_not_allowed");
}

#[tokio::test]
async fn a_trailing_slash_is_optional() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz/").await.status(), 200);
    assert_eq!(app.get("/readyz/").await.status(), 200);
}

#[tokio::test]
async fn a_well_formed_request_id_is_echoed_and_a_hostile_one_replaced() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "frontend-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "frontend-42.a");

    for hostile in ["<script>alert(1)</script>", &"x".repeat(200), "a b"] {
        let resp = app
            .client
            .get(app.url("/nowhere"))
            .header("X-Request-Id", hostile)
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, hostile);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id: {id}");
        let error = error_of(resp, 404).await;
        assert_eq!(error["request_id"], id.as_str());
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_streamed() {
    let app = spawn_app_with(|s| s.http.body_limit_bytes = 1024).await;
    let declared = app
        .client
        .post(app.url("/healthz"))
        .body(vec![b'a'; 2048])
        .send()
        .await
        .unwrap();
    let error = error_of(declared, 413).await;
    assert_eq!(error["type"], "payload_too_large");

    // chunked: no Content-Length to trust, the limit still holds
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b'a'; 512])).collect();
    let streamed = app
        .client
        .post(app.url("/healthz"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    error_of(streamed, 413).await;

    // within the limit the request goes on to routing (here: wrong method)
    let small = app
        .client
        .post(app.url("/healthz"))
        .body("{}")
        .send()
        .await
        .unwrap();
    error_of(small, 405).await;
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app =
        spawn_app_with(|s| s.http.cors_origins = Some(vec!["https://app.example.com".into()]))
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "no cookies outside cookie mode"
    );
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn prod_allows_no_cross_origin_requests_unless_configured() {
    let app = spawn_app_with(|s| s.profile = dealergate::config::Profile::Prod).await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    // the control: the same prod server, configured, does answer CORS for its origin (so the
    // silence above is the policy, not a CORS layer that never speaks)
    let configured = spawn_app_with(|s| {
        s.profile = dealergate::config::Profile::Prod;
        s.http.cors_origins = Some(vec!["https://app.example.com".into()]);
    })
    .await;
    let from = |origin: &'static str| {
        configured
            .client
            .get(configured.url("/healthz"))
            .header("Origin", origin)
            .send()
    };
    let allowed = from("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers().get("access-control-allow-origin"),
        Some(&reqwest::header::HeaderValue::from_static(
            "https://app.example.com"
        )),
        "a configured origin gets the CORS header in prod"
    );
    let preflight = configured
        .client
        .request(
            reqwest::Method::OPTIONS,
            configured.url("/api/v1/auth/login"),
        )
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        preflight
            .headers()
            .get("access-control-allow-methods")
            .is_some_and(|m| m.to_str().unwrap().contains("POST")),
        "{:?}",
        preflight.headers()
    );
    let dev_default = from("http://localhost:5173").await.unwrap();
    assert!(
        dev_default
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "only the configured origin"
    );
}

#[tokio::test]
async fn nul_characters_are_a_400_not_a_database_error() {
    let app = spawn_app().await;
    let admin = app
        .login_ok(crate::helpers::ADMIN.email, crate::helpers::ADMIN.password)
        .await
        .access;
    error_of(app.get_as("/api/v1/users?q=%00", &admin).await, 400).await;
    error_of(
        app.get_as("/api/v1/audit-events?action=a%00b", &admin)
            .await,
        400,
    )
    .await;
    let body = app
        .as_user(
            reqwest::Method::PATCH,
            &format!("/api/v1/dealerships/{}", crate::helpers::PREMIUM_AUTO),
            &admin,
        )
        .header("content-type", "application/json")
        .body(r#"{"address":"a\u0000b"}"#)
        .send()
        .await
        .unwrap();
    error_of(body, 400).await;
}

#[tokio::test]
async fn a_same_origin_browser_post_is_not_a_cors_request() {
    // what Swagger UI on /docs does: POST with Origin set to the server itself
    for profile in [
        dealergate::config::Profile::Dev,
        dealergate::config::Profile::Prod,
    ] {
        let app = spawn_app_with(|s| s.profile = profile).await;
        let resp = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .header("Origin", app.address.as_str())
            .form(&[
                ("grant_type", "password"),
                ("username", "agent@premiumauto.com"),
                ("password", "Agent123!"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{profile:?}");
        let foreign = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .header("Origin", "https://evil.example.net")
            .form(&[
                ("grant_type", "password"),
                ("username", "agent@premiumauto.com"),
                ("password", "Agent123!"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            foreign
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
}

#[tokio::test]
async fn every_error_body_has_details_even_when_empty() {
    let app = spawn_app().await;
    let error = error_of(app.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(error["details"], serde_json::json!([]));
}

#[tokio::test]
async fn empty_fields_are_sent_as_null_and_documented_as_required_and_nullable() {
    let app = spawn_app().await;
    let admin = app
        .login_ok(crate::helpers::ADMIN.email, crate::helpers::ADMIN.password)
        .await
        .access;
    let me: serde_json::Value = app
        .get_as("/api/v1/auth/me", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        me["dealership_id"].is_null() && me["phone"].is_null(),
        "{me}"
    );

    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let user = &spec["components"]["schemas"]["User"];
    for field in ["dealership_id", "phone", "last_login"] {
        assert_eq!(user["properties"][field]["nullable"], true, "{field}");
        assert!(
            user["required"].as_array().unwrap().contains(&field.into()),
            "{field} is always sent"
        );
    }
    let detail = &spec["components"]["schemas"]["ErrorDetail"];
    assert!(
        detail["required"]
            .as_array()
            .unwrap()
            .contains(&"details".into())
    );
}

#[tokio::test]
async fn operations_document_their_own_error_statuses_only() {
    let app = spawn_app().await;
    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .cloned()
            .collect()
    };
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let listed: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
            // a route's 405 is not an operation's answer; every request may be malformed
            assert!(!listed.iter().any(|s| *s == "405"), "{method} {path}");
            for always in ["400", "413", "431", "500"] {
                assert!(
                    listed.iter().any(|s| *s == always),
                    "{method} {path} {always}"
                );
            }
            if op.get("security").is_some() {
                let headers = op["responses"]["401"]["headers"].as_object();
                assert!(
                    headers.is_some_and(|h| h
                        .keys()
                        .any(|k| k.eq_ignore_ascii_case("www-authenticate"))),
                    "{method} {path}: 401 with WWW-Authenticate"
                );
            }
        }
    }
    assert!(!statuses("/api/v1/auth/me", "get").contains(&"409".into()));
    assert!(statuses("/api/v1/users", "post").contains(&"409".into()));
    assert!(statuses("/api/v1/auth/login", "post").contains(&"429".into()));
    assert!(!statuses("/healthz", "get").contains(&"503".into()));
}
