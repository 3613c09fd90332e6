//! The console's sign-in and session: a real session behind an HttpOnly `__Host-` cookie,
//! CSRF-checked forms, the second step, and revocation reaching the console at once. Pages of
//! each area are tested in their own `console_*` files; the real browser in `console_browser`.

use reqwest::StatusCode;

use crate::helpers::{
    PA_AGENT, PA_MANAGER, PA_PRINCIPAL, TestApp, console::Console, count, mfa, spawn_app,
};

const SESSION: &str = "__Host-dg_console";

#[tokio::test]
async fn console_pages_load_nothing_from_elsewhere_and_keep_their_referrer_at_home() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    let page = console.get("/console/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    let header = |name: &str| page.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert!(header("content-security-policy").starts_with("default-src 'self';"));
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    assert!(!page.body.contains("<style") && !page.body.contains(" style="));
    assert!(!page.body.contains("<script>"), "no inline script");
    let pre = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("__Host-dg_pre="))
        .expect("a pre-session nonce");
    assert!(pre.contains("HttpOnly") && pre.contains("Secure") && pre.contains("Path=/"));
    // the API keeps its own policy
    let api = app.get("/api/v1/health").await;
    assert_eq!(api.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn signing_in_sets_a_new_host_only_session_cookie_and_shows_who_and_where() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    let page = console
        .sign_in(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/console"));
    let set = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(SESSION))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "Secure", "Path=/", "SameSite=Lax"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Domain"), "host-only: {set}");
    let overview = console.get("/console").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.shows("Paula") && overview.shows("Premium Auto"));
    // a real session, listed with the others
    let tokens = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let sessions: serde_json::Value = app
        .get_as("/api/v1/auth/sessions", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().map(Vec::len), Some(2), "{sessions}");
}

#[tokio::test]
async fn a_wrong_password_shows_the_apis_words_and_signs_nobody_in() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    let page = console.sign_in(PA_AGENT.email, "not the password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.shows("Wrong email or password."), "{}", page.body);
    assert!(console.cookie(SESSION).is_none());
    let malformed = console.sign_in("not an address", "x").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        malformed.body.contains("id=\"e-login\""),
        "{}",
        malformed.body
    );
}

#[tokio::test]
async fn pages_need_a_session_and_send_the_visitor_to_sign_in() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    let page = console.get("/console").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/console/sign-in"));
}

#[tokio::test]
async fn a_form_without_its_token_or_from_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let mut console = Console::new(&app);
    console.get("/console/sign-in").await;
    let login = [("login", PA_AGENT.email), ("password", PA_AGENT.password)];
    let tokenless = console.post_raw("/console/sign-in", &login, &[]).await;
    assert_eq!(tokenless.status, StatusCode::FORBIDDEN);
    assert!(console.cookie(SESSION).is_none());

    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let page = console.get("/console").await;
    let token = page.body.split("name=\"_csrf\" value=\"").nth(1).unwrap();
    let token = &token[..token.find('"').unwrap()];
    let foreign = [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    let forged = console
        .post_raw("/console/sign-out", &[("_csrf", token)], &foreign)
        .await;
    assert_ne!(
        forged.status,
        StatusCode::SEE_OTHER,
        "refused: {}",
        forged.body
    );
    let other = console
        .post_raw(
            "/console/sign-out",
            &[("_csrf", "A".repeat(43).as_str())],
            &[],
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(
        console.get("/console").await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn logout_all_through_the_api_ends_the_console_session_at_once() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_MANAGER.email, PA_MANAGER.password).await;
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
    let tokens = app.login_ok(PA_MANAGER.email, PA_MANAGER.password).await;
    let resp = app.post_as("/api/v1/auth/logout-all", &tokens.access).await;
    assert_eq!(resp.status(), 204);
    let page = console.get("/console").await;
    assert_eq!(page.location.as_deref(), Some("/console/sign-in"));
    assert!(
        console.cookie(SESSION).is_none(),
        "the dead cookie is cleared"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_is_audited() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    console.get("/console").await;
    let out = console.post("/console/sign-out", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
    let live = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL",
            PA_AGENT.id
        ),
    )
    .await;
    assert_eq!(live, 0);
    let page = console.follow(&out).await;
    assert!(page.shows("You are signed out."), "{}", page.body);
}

async fn enrolled_agent(app: &TestApp) -> mfa::Enrolled {
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    mfa::enrol(app, &tokens.access, PA_AGENT.password).await
}

#[tokio::test]
async fn a_person_with_an_app_signs_in_with_the_second_step() {
    let app = spawn_app().await;
    let enrolled = enrolled_agent(&app).await;
    let mut console = Console::new(&app);
    let step = console.sign_in(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(step.status, StatusCode::OK);
    assert!(step.shows("Second step") && console.cookie(SESSION).is_none());
    let token = step
        .body
        .split("name=\"mfa_token\" value=\"")
        .nth(1)
        .unwrap();
    let token = token[..token.find('"').unwrap()].to_owned();
    let wrong = console
        .post(
            "/console/sign-in/code",
            &[("mfa_token", &token), ("code", "12345")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"e-code\""), "{}", wrong.body);
    let code = enrolled.app.next_code().await;
    let done = console
        .post(
            "/console/sign-in/code",
            &[("mfa_token", &token), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(console.cookie(SESSION).is_some());
    assert_eq!(console.get("/console").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_static_files_are_cacheable_and_never_carry_a_cookie() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    for path in [
        "/console/assets/htmx-2.0.11.min.js",
        "/console/assets/console-1.css",
    ] {
        let file = console.get(path).await;
        assert_eq!(file.status, StatusCode::OK, "{path}");
        assert!(file.headers.get("set-cookie").is_none(), "{path}");
        let cache = file.headers["cache-control"].to_str().unwrap();
        assert!(cache.starts_with("public"), "{path}: {cache}");
    }
}

#[tokio::test]
async fn a_pre_session_nonce_equal_to_a_session_id_does_not_yield_that_sessions_token() {
    let app = spawn_app().await;
    let mut victim = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    victim.get("/console").await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let sessions: serde_json::Value = app
        .get_as("/api/v1/auth/sessions", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    let mut attacker = Console::new(&app);
    for session in sessions.as_array().unwrap() {
        let id = session["id"].as_str().unwrap().replace('-', "");
        attacker.set_cookie("__Host-dg_pre", &id);
        let page = attacker.get("/console/sign-in").await;
        let token = page.body.split("name=\"_csrf\" value=\"").nth(1).unwrap();
        let token = &token[..token.find('"').unwrap()];
        let forged = victim
            .post_raw("/console/sign-out", &[("_csrf", token)], &[])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    }
    assert_eq!(victim.get("/console").await.status, StatusCode::OK);
}

/// A step-up answered while the session's token was being renewed keeps the renewed refresh
/// token: the next renewal is not taken for a replay (which would end the session).
#[tokio::test]
async fn a_step_up_during_a_renewal_keeps_the_renewed_refresh_token() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.auth.access_token_ttl_secs = 2; // renewed after a second
        s.auth.refresh_grace_secs = 0; // any stale refresh token is a replay
    })
    .await;
    let enrolled = enrolled_agent(&app).await;
    let agent = (PA_AGENT.email, PA_AGENT.password);
    let mut console = Console::signed_in_with_code(&app, agent, &enrolled.app).await;
    console.get("/console/step-up").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let code = enrolled.app.next_code().await;
    let stepped = console
        .post("/console/step-up", &[("code", &code), ("back", "/console")])
        .await;
    assert_eq!(
        stepped.location.as_deref(),
        Some("/console"),
        "{}",
        stepped.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let page = console.get("/console").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "still signed in: {:?}",
        page.location
    );
    let owner = app.db.owner().await;
    let replays = "SELECT count(*) AS n FROM audit_events \
                   WHERE action = 'session.refresh_token_reused'";
    assert_eq!(count(&owner, replays).await, 0);
}
