//! What operators rely on: metrics, graceful shutdown, the healthcheck and first-admin commands.

use std::time::Duration;

use crate::helpers::{ADMIN, PA_AGENT, dealergate, error_of, spawn_app, spawn_app_with};

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_logins_and_policy() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    error_of(app.login(PA_AGENT.email, "wrong-password").await, 401).await;
    app.refresh_ok(&tokens.refresh).await;
    let me: serde_json::Value = app
        .get_as("/api/v1/auth/me", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    app.get_as(
        &format!("/api/v1/users/{}", me["id"].as_str().unwrap()),
        &admin,
    )
    .await;
    app.get("/no/such/path/123").await;

    let resp = app.ops("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    for present in [
        r#"dealergate_http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"}"#,
        r#"dealergate_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"dealergate_http_request_duration_seconds_bucket{method="GET",route="/api/v1/auth/me",status="200""#,
        r#"dealergate_logins_total{by="email",outcome="success"}"#,
        r#"dealergate_logins_total{by="email",outcome="failure"}"#,
        r#"dealergate_refreshes_total{outcome="rotated"}"#,
        r#"dealergate_policy_info{hash=""#,
        r#"dealergate_authz_cache_total{result="#,
        r#"dealergate_db_pool_connections{state="idle"}"#,
        "# TYPE dealergate_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(present), "missing {present}");
    }
    assert!(
        metric(
            &text,
            r#"dealergate_logins_total{by="email",outcome="success"}"#
        )
        .unwrap()
            >= 2.0
    );
    assert!(
        !text.contains(me["id"].as_str().unwrap()),
        "ids never become label values"
    );
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_exits_cleanly() {
    let mut app = spawn_app_with(|s| {
        s.auth.lockout.delay_after = 0; // every failure waits: a slow request to drain
        s.http.shutdown_delay_secs = 0;
    })
    .await;
    let client = app.client.clone();
    let url = app.url("/api/v1/auth/login");
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .json(&serde_json::json!({"email": PA_AGENT.email, "password": "wrong"}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.stop().await.expect("the server stops cleanly");
    let answered = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(answered.status(), 401);
}

// the command blocks its thread; the server needs another one to answer
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_answers_for_a_running_server_only() {
    let app = spawn_app().await;
    let listen = app.address.trim_start_matches("http://").to_owned();
    let ok = dealergate(&["healthcheck"], &[("DEALERGATE_LISTEN", &listen)], None);
    assert!(ok.status.success(), "{ok:?}");
    let closed = dealergate(
        &["healthcheck"],
        &[("DEALERGATE_LISTEN", "127.0.0.1:9")],
        None,
    );
    assert!(!closed.status.success());
}

#[tokio::test]
async fn the_first_admin_is_created_from_stdin_once_and_can_sign_in() {
    let app = spawn_app().await;
    let url = app.db.login_url();
    let (signing, _) = dealergate::testing::generate_pem().unwrap();
    let key_file = std::env::temp_dir().join(format!("dg-admin-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&key_file, signing).unwrap();
    let prod = [
        ("DEALERGATE_PROFILE", "prod"),
        ("DATABASE_URL", url.as_str()),
        (
            "DEALERGATE_AUTH__SIGNING_KEY_FILE",
            key_file.to_str().unwrap(),
        ),
        (
            "DEALERGATE_AUTH__REFRESH_TOKEN_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
        // the base64 of the bytes 1..=32
        (
            "DEALERGATE_AUTH__MFA__ENCRYPTION_KEY",
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        ),
    ];
    let args = [
        "admin",
        "create-user",
        "--email",
        "Ops@Example.com",
        "--role",
        "admin",
    ];
    let weak = dealergate(&args, &prod, Some("password123\n"));
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("common"),
        "{weak:?}"
    );

    let created = dealergate(&args, &prod, Some("a long operator passphrase\n"));
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("created ops@example.com (admin)"));
    let again = dealergate(&args, &prod, Some("another passphrase entirely\n"));
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));

    let tokens = app
        .login_ok("ops@example.com", "a long operator passphrase")
        .await;
    assert_eq!(tokens.body["user"]["role"], "admin");
    error_of(
        app.login("ops@example.com", "another passphrase entirely")
            .await,
        401,
    )
    .await;

    let staff = dealergate(
        &[
            "admin",
            "create-user",
            "--email",
            "desk@premiumauto.com",
            "--role",
            "agent",
            "--dealership",
            "Premium Auto",
        ],
        &prod,
        Some("front desk passphrase"),
    );
    assert!(staff.status.success(), "{staff:?}");
    std::fs::remove_file(key_file).unwrap();
}
