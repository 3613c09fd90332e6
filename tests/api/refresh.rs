//! Refresh-token rotation: concurrent tabs converge, a replayed token ends the session.

use std::time::Duration;

use crate::helpers::{PA_AGENT, PA_PRINCIPAL, TestApp, count, error_of, spawn_app, spawn_app_with};

/// Exactly one session was revoked as a replayed family, and audited as such.
async fn one_family_revoked_for_reuse(app: &TestApp) {
    let owner = app.db.owner().await;
    let revoked = "SELECT count(*) AS n FROM sessions WHERE revoked_reason = 'refresh_token_reuse'";
    assert_eq!(count(&owner, revoked).await, 1);
    let audited =
        "SELECT count(*) AS n FROM audit_events WHERE action = 'session.refresh_token_reused'";
    assert_eq!(count(&owner, audited).await, 1);
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_token_all_succeed_and_converge() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let refreshes: Vec<_> = (0..50)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/v1/auth/refresh");
            let token = tokens.refresh.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"refresh_token": token}))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut issued = Vec::new();
    for refresh in refreshes {
        let resp = refresh.await.unwrap();
        assert_eq!(resp.status(), 200, "every tab's refresh succeeds");
        let body: serde_json::Value = resp.json().await.unwrap();
        issued.push((
            body["refresh_token"].as_str().unwrap().to_owned(),
            body["access_token"].as_str().unwrap().to_owned(),
        ));
    }
    let first = issued[0].0.clone();
    assert!(
        issued.iter().all(|(r, _)| *r == first),
        "every tab holds the session's current token"
    );
    for (_, access) in &issued {
        assert_eq!(app.get_as("/api/v1/auth/me", access).await.status(), 200);
    }
    // the session lives on: the converged token refreshes again, once
    let next = app.refresh_ok(&first).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &next.access).await.status(),
        200
    );
    let owner = app.db.owner().await;
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &owner,
            "SELECT max(rotation_count)::bigint AS n FROM sessions"
        )
        .await,
        2,
        "one rotation per distinct token"
    );
}

#[tokio::test]
async fn a_rotated_token_replayed_after_the_grace_window_ends_the_whole_session() {
    let app = spawn_app_with(|s| s.auth.refresh_grace_secs = 1).await;
    let first = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let second = app.refresh_ok(&first.refresh).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &second.access).await.status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;

    error_of(app.refresh(&first.refresh).await, 401).await;
    error_of(app.refresh(&second.refresh).await, 401).await;
    error_of(app.get_as("/api/v1/auth/me", &second.access).await, 401).await;
    one_family_revoked_for_reuse(&app).await;
    // the user can still sign in again
    app.login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
}

#[tokio::test]
async fn garbage_unknown_and_expired_refresh_tokens_are_401() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let (sid, _) = tokens.refresh.split_once('.').unwrap();
    for bad in [
        "".to_owned(),
        "nonsense".to_owned(),
        format!("{sid}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!(
            "{}.{}",
            uuid::Uuid::now_v7().simple(),
            tokens.refresh.split_once('.').unwrap().1
        ),
        tokens.access.clone(),
    ] {
        error_of(app.refresh(&bad).await, 401).await;
    }
    // a forged secret for a real session does not end it
    app.refresh_ok(&tokens.refresh).await;

    let expiring = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    crate::helpers::exec(
        &app.db.owner().await,
        "UPDATE sessions SET expires_at = now() - interval '1 second'",
    )
    .await;
    error_of(app.refresh(&expiring.refresh).await, 401).await;
}

#[tokio::test]
async fn the_absolute_lifetime_caps_the_sliding_one() {
    let app = spawn_app_with(|s| {
        s.auth.refresh_token_ttl_secs = 3600;
        s.auth.session_max_age_secs = 60;
    })
    .await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    app.refresh_ok(&tokens.refresh).await;
    let owner = app.db.owner().await;
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM sessions WHERE expires_at <= absolute_expires_at AND absolute_expires_at < now() + interval '61 seconds'").await,
        1
    );
}

#[tokio::test]
async fn a_deactivated_user_cannot_refresh() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    crate::helpers::exec(
        &app.db.owner().await,
        "UPDATE users SET is_active = false WHERE email = 'agent@premiumauto.com'",
    )
    .await;
    error_of(app.refresh(&tokens.refresh).await, 401).await;
}

#[tokio::test]
async fn any_retired_token_of_a_family_ends_the_session_not_only_the_last_one() {
    let app = spawn_app().await;
    let stolen = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let first = app.refresh_ok(&stolen.refresh).await;
    let thief = app.refresh_ok(&first.refresh).await;
    let thief = app.refresh_ok(&thief.refresh).await;

    // the victim presents the token from three rotations ago: the family is revoked
    error_of(app.refresh(&stolen.refresh).await, 401).await;
    error_of(app.refresh(&thief.refresh).await, 401).await;
    error_of(app.get_as("/api/v1/auth/me", &thief.access).await, 401).await;
    one_family_revoked_for_reuse(&app).await;
}

#[tokio::test]
async fn a_forged_token_naming_a_rotated_session_does_not_end_it() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let rotated = app.refresh_ok(&tokens.refresh).await;
    let rotated = app.refresh_ok(&rotated.refresh).await;
    let (sid, _) = rotated.refresh.split_once('.').unwrap();
    for secret in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZA",
    ] {
        error_of(app.refresh(&format!("{sid}.{secret}")).await, 401).await;
    }
    let next = app.refresh_ok(&rotated.refresh).await;
    assert_eq!(
        app.get_as("/api/v1/auth/me", &next.access).await.status(),
        200
    );
    assert_eq!(
        count(
            &app.db.owner().await,
            "SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_session_at_its_rotation_limit_must_sign_in_again() {
    // past the limit a retired token could no longer be recognised, so refreshing past it (a
    // thief's way to push the victim's token out of reach) ends in a fresh sign-in instead
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    crate::helpers::exec(
        &app.db.owner().await,
        &format!(
            "UPDATE sessions SET rotation_count = {}",
            dealergate::testing::MAX_REPLAY_WALK
        ),
    )
    .await;
    error_of(app.refresh(&tokens.refresh).await, 401).await;
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}
