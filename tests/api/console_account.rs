//! The caller's own account in the console: profile, password, email, sessions and second
//! factors, each through the service the API's `/auth` routes use, with the same field errors.

use reqwest::StatusCode;

use crate::helpers::{PA_AGENT, PA_MANAGER, console::Console, count, mfa, spawn_app};

#[tokio::test]
async fn a_profile_saves_and_a_bad_phone_is_shown_beside_its_field() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    console.get("/console/account").await;
    let bad = console
        .post(
            "/console/account/profile",
            &[
                ("first_name", "Alex"),
                ("last_name", "Agent"),
                ("phone", "12"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"e-phone\""), "{}", bad.body);
    let good = console
        .post(
            "/console/account/profile",
            &[
                ("first_name", "Alexandra"),
                ("last_name", "Agent"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(
        good.location.as_deref(),
        Some("/console/account"),
        "{}",
        good.body
    );
    let page = console.follow(&good).await;
    assert!(page.shows("Your profile is saved.") && page.shows("Alexandra"));
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_a_right_one_keeps_this_session() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let other = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    console.get("/console/account").await;
    let wrong = console
        .post(
            "/console/account/password",
            &[
                ("current_password", "nope"),
                ("new_password", "a fresh passphrase"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let changed = console
        .post(
            "/console/account/password",
            &[
                ("current_password", PA_AGENT.password),
                ("new_password", "a fresh passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.location.as_deref(), Some("/console/account"));
    assert_eq!(console.get("/console/account").await.status, StatusCode::OK);
    let api = app.get_as("/api/v1/auth/me", &other.access).await;
    assert_eq!(api.status(), 401, "the other session ended");
}

#[tokio::test]
async fn sessions_are_listed_and_the_others_end_at_once() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_MANAGER.email, PA_MANAGER.password).await;
    let other = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let page = console.get("/console/account/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("this session"));
    assert_eq!(
        page.body.matches("<tr>").count(),
        3,
        "a header and two sessions"
    );
    let ended = console
        .post("/console/account/sessions/end-others", &[])
        .await;
    assert_eq!(ended.location.as_deref(), Some("/console/account/sessions"));
    assert_eq!(
        app.get_as("/api/v1/auth/me", &other.access).await.status(),
        401
    );
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
}

#[tokio::test]
async fn new_recovery_codes_need_a_code_and_are_shown_once() {
    let app = spawn_app().await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let enrolled = mfa::enrol(&app, &tokens.access, PA_AGENT.password).await;
    let agent = (PA_AGENT.email, PA_AGENT.password);
    let mut console = Console::signed_in_with_code(&app, agent, &enrolled.app).await;
    let page = console.get("/console/account/factors").await;
    assert!(page.shows("10 recovery codes left."), "{}", page.body);
    let code = enrolled.app.next_code().await;
    let fresh = console
        .post(
            "/console/account/factors",
            &[
                ("what", "codes"),
                ("current_password", PA_AGENT.password),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert!(fresh.body.matches("<li>").count() >= 10);
    let old = &enrolled.recovery_codes[0];
    let owner = app.db.owner().await;
    let live = "SELECT count(*) AS n FROM mfa_recovery_codes WHERE used_at IS NULL";
    assert_eq!(
        count(&owner, live).await,
        10,
        "{old} and its siblings were replaced"
    );
}
