//! An unknown sign-in name costs a full password hash, like a wrong password does: counted by
//! `dealergate_password_hashes_total` at `/metrics` (a server process of its own, so no other
//! test's hashes are counted), not guessed from timings.

use serde_json::json;

use crate::helpers::{PA_AGENT, probes::ServerProcess};

const HASHES: &str = "dealergate_password_hashes_total";

/// How many hashes `attempt` cost the server.
async fn hashes_of(server: &ServerProcess, attempt: serde_json::Value) -> f64 {
    let before = server.metric(HASHES).await;
    let resp = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&attempt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "{attempt}");
    server.metric(HASHES).await - before
}

#[tokio::test]
async fn an_unknown_sign_in_name_costs_a_full_hash_like_a_wrong_password() {
    let server = ServerProcess::start(&[("DEALERGATE_AUTH__LOCKOUT__DELAY_AFTER", "100")]).await;
    let wrong_password = hashes_of(
        &server,
        json!({"email": PA_AGENT.email, "password": "wrong"}),
    )
    .await;
    assert_eq!(wrong_password, 1.0, "a wrong password is checked once");
    let unknown_email = hashes_of(
        &server,
        json!({"email": "nobody@premiumauto.com", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        unknown_email, 1.0,
        "an unknown email is checked against the dummy hash"
    );
    let unknown_phone = hashes_of(
        &server,
        json!({"phone": "+1 312 555 0999", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        unknown_phone, 1.0,
        "an unknown phone is checked against the dummy hash"
    );
}
