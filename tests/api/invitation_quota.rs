//! Invitation mail has a quota: a dealership, and one sender, mail at most so many invitations
//! an hour (sends and resends alike); past it 429, audited, and nothing is mailed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PA_PRINCIPAL, TestApp, count, spawn_app_with};

async fn invite(app: &TestApp, token: &str, email: &str) -> reqwest::Response {
    app.send_as(
        Method::POST,
        "/api/v1/invitations",
        token,
        json!({"email": email, "role": "agent", "first_name": "Any words at all"}),
    )
    .await
}

#[tokio::test]
async fn a_sender_past_the_hours_quota_is_429_audited_and_mails_nothing() {
    let app = spawn_app_with(|s| s.mail.invitations_per_hour_per_sender = 3).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let mut first = None;
    for n in 0..2 {
        let sent = invite(&app, &principal.access, &format!("guest{n}@example.net")).await;
        assert_eq!(sent.status(), 201);
        first.get_or_insert(sent.json::<Value>().await.unwrap());
    }
    let id = first.unwrap()["id"].as_str().unwrap().to_owned();
    let resend = format!("/api/v1/invitations/{id}/resend");
    let resent = app.post_as(&resend, &principal.access).await;
    assert_eq!(resent.status(), 200, "a resend is the third");

    let refused = invite(&app, &principal.access, "guest9@example.net").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(app.post_as(&resend, &principal.access).await.status(), 429);

    let owner = app.db.owner().await;
    let mailed = "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'invitation'";
    assert_eq!(count(&owner, mailed).await, 3);
    let limited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'invitation.rate_limited' \
         AND actor_id = '{}' AND changes->>'limit' = 'sender'",
        PA_PRINCIPAL.id
    );
    assert_eq!(count(&owner, &limited).await, 2);
    let none = "SELECT count(*) AS n FROM invitations WHERE email = 'guest9@example.net'";
    assert_eq!(count(&owner, none).await, 0);
}

#[tokio::test]
async fn a_dealerships_senders_share_its_quota() {
    let app = spawn_app_with(|s| s.mail.invitations_per_hour_per_dealership = 2).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let peer = app
        .create_user(
            &principal.access,
            "second.principal@premiumauto.com",
            "second principal passphrase",
            "principal",
        )
        .await;
    assert_eq!(peer["role"], "principal");
    let peer = app
        .login_ok(
            "second.principal@premiumauto.com",
            "second principal passphrase",
        )
        .await;
    assert_eq!(
        invite(&app, &principal.access, "a@example.net")
            .await
            .status(),
        201
    );
    assert_eq!(
        invite(&app, &peer.access, "b@example.net").await.status(),
        201
    );
    assert_eq!(
        invite(&app, &peer.access, "c@example.net").await.status(),
        429
    );
    // another dealership has a quota of its own
    let admin = app
        .login_ok(crate::helpers::ADMIN.email, crate::helpers::ADMIN.password)
        .await;
    let elsewhere = app
        .send_as(
            Method::POST,
            "/api/v1/invitations",
            &admin.access,
            json!({"email": "d@example.net", "role": "agent",
                   "dealership_id": crate::helpers::METRO_MOTORS}),
        )
        .await;
    assert_eq!(elsewhere.status(), 201);
}
