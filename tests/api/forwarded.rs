//! The client address behind trusted proxies: the per-IP login limit counts the address the
//! nearest trusted proxy saw, never an entry the client wrote itself.

use crate::helpers::{PA_AGENT, TestApp, error_of, spawn_app_with};

fn behind_proxies(hops: u8) -> impl FnOnce(&mut dealergate::config::Settings) {
    move |s| {
        s.http.trust_forwarded_for = true;
        s.http.trusted_proxy_hops = hops;
        s.auth.lockout.ip_max_failures = 3;
        s.auth.lockout.delay_after = 10;
    }
}

async fn login_via(
    app: &TestApp,
    forwarded: &[&str],
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}));
    for line in forwarded {
        req = req.header("x-forwarded-for", *line);
    }
    req.send().await.expect("request sent")
}

async fn sign_in_via(app: &TestApp, forwarded: &[&str]) -> reqwest::Response {
    login_via(app, forwarded, PA_AGENT.email, PA_AGENT.password).await
}

async fn lock_out(app: &TestApp, forwarded: &str) {
    for n in 0..3 {
        let email = format!("nobody{n}@example.com");
        error_of(
            login_via(app, &[forwarded], &email, "wrong-password").await,
            401,
        )
        .await;
    }
}

#[tokio::test]
async fn one_address_failures_do_not_lock_another_behind_the_same_proxy() {
    let app = spawn_app_with(behind_proxies(1)).await;
    lock_out(&app, "203.0.113.1").await;
    error_of(sign_in_via(&app, &["203.0.113.1"]).await, 429).await;
    assert_eq!(
        sign_in_via(&app, &["203.0.113.2"]).await.status(),
        200,
        "another client behind the same proxy still signs in"
    );
}

#[tokio::test]
async fn a_forged_left_most_entry_does_not_escape_the_per_address_limit() {
    let app = spawn_app_with(behind_proxies(1)).await;
    lock_out(&app, "203.0.113.1").await;
    // the client writes its own entry; the proxy appends the address it saw, in the same line
    // or in a header line of its own
    for forwarded in [
        vec!["198.51.100.7, 203.0.113.1"],
        vec!["198.51.100.7", "203.0.113.1"],
        vec!["198.51.100.7, 198.51.100.8", "203.0.113.1"],
    ] {
        let resp = sign_in_via(&app, &forwarded).await;
        error_of(resp, 429).await;
    }
}

#[tokio::test]
async fn the_client_is_the_entry_as_many_hops_from_the_right_as_there_are_trusted_proxies() {
    let app = spawn_app_with(behind_proxies(2)).await;
    // client → CDN (appends the client) → ingress (appends the CDN) → us
    lock_out(&app, "198.51.100.9, 203.0.113.1, 10.0.0.5").await;
    error_of(sign_in_via(&app, &["203.0.113.1, 10.0.0.6"]).await, 429).await;
    assert_eq!(
        sign_in_via(&app, &["203.0.113.2, 10.0.0.5"]).await.status(),
        200
    );
}
