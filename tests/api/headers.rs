//! Security headers on every response, `no-store` on the API, HSTS when configured, and the
//! Swagger UI still served.

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn headers_of(app: &TestApp, path: &str) -> reqwest::header::HeaderMap {
    app.get(path).await.headers().clone()
}

#[tokio::test]
async fn every_response_forbids_sniffing_framing_and_referrers() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/api/v1/auth/me",
        "/api/v1/nowhere",
        "/openapi.json",
        "/docs",
    ] {
        let headers = headers_of(&app, path).await;
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "{path}: HSTS is opt-in"
        );
    }
}

#[tokio::test]
async fn identity_data_is_never_stored_by_caches() {
    let app = spawn_app().await;
    let tokens = app
        .login_ok(crate::helpers::ADMIN.email, crate::helpers::ADMIN.password)
        .await;
    for path in ["/api/v1/users", "/api/v1/auth/me", "/api/v1/dealerships"] {
        let resp = app.get_as(path, &tokens.access).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    }
    assert_eq!(
        headers_of(&app, "/api/v1/auth/me").await["cache-control"],
        "no-store"
    );
}

#[tokio::test]
async fn hsts_is_sent_when_configured_and_swagger_ui_still_loads() {
    let app = spawn_app_with(|s| s.http.hsts_max_age_secs = Some(31_536_000)).await;
    let headers = headers_of(&app, "/healthz").await;
    assert_eq!(
        headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI page"
    );
}
