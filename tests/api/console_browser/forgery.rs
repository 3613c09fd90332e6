//! Forged forms from another origin: a page on a server of its own whose forms post to the
//! console without a token — one origin away on the same site (the browser sends the console's
//! `SameSite=Lax` cookie along), and on another site (`localhost`); and the console's own form
//! with its token taken out. Each is refused and changes nothing: the person is still signed
//! in, no session ended or began.

use crate::helpers::{PA_AGENT, PA_PRINCIPAL, TestApp, count, spawn_app};

use super::{Browser, other_site, sign_in};

/// The attacker's page: a sign-out for the visitor, and a sign-in as the attacker (login
/// forgery), both without the console's token.
fn forged_page(app: &TestApp) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><title>You won a car</title></head><body>
<h1>You won a car</h1>
<form method="post" action="{app}/console/sign-out"><button id="sign-out">Claim it</button></form>
<form method="post" action="{app}/console/sign-in">
<input type="hidden" name="login" value="{email}"><input type="hidden" name="password" value="{password}">
<button id="sign-in">Claim it as me</button></form>
</body></html>"#,
        app = app.address,
        email = PA_PRINCIPAL.email,
        password = PA_PRINCIPAL.password,
    )
}

/// Live sessions of the signed-in agent, and every session of anyone.
async fn sessions(app: &TestApp) -> (i64, i64) {
    let db = app.db.owner().await;
    let live = format!(
        "SELECT count(*) AS n FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL",
        PA_AGENT.id
    );
    (
        count(&db, &live).await,
        count(&db, "SELECT count(*) AS n FROM sessions").await,
    )
}

#[tokio::test]
async fn console_browser_a_form_posted_from_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_AGENT.email, PA_AGENT.password).await;
    b.expect_page("Overview").await;
    let before = sessions(&app).await;
    assert_eq!(before.0, 1, "signed in once");

    let port = other_site::serve(forged_page(&app)).await;
    // another origin of the same site (the Lax cookie goes along), then another site
    for (host, button) in [
        ("127.0.0.1", "#sign-out"),
        ("localhost", "#sign-out"),
        ("127.0.0.1", "#sign-in"),
        ("localhost", "#sign-in"),
    ] {
        b.client
            .goto(&format!("http://{host}:{port}/"))
            .await
            .expect("the other site");
        assert_eq!(b.h1().await, "You won a car");
        b.find(button).await.click().await.expect("the forged form");
        b.wait_for_text("nothing was changed").await;
        assert!(
            b.path().await.starts_with("/console/sign-"),
            "posted to the console"
        );
        // refused by the console's own check, in its words (CORS is the API's)
        b.expect_text("This form came from another site or has expired: nothing was changed.")
            .await;
        assert_eq!(sessions(&app).await, before, "{button} from {host}");
    }

    // the console's own form with its token taken out: refused by the console's CSRF check
    b.open_page("/console", "Overview").await;
    b.client
        .execute(
            "document.querySelectorAll('input[name=_csrf]').forEach((i) => i.remove());",
            vec![],
        )
        .await
        .expect("the token is removed");
    b.press("Sign out").await;
    b.expect_text("This form came from another site or has expired: nothing was changed.")
        .await;
    assert_eq!(sessions(&app).await, before, "tokenless sign-out");

    b.open_page("/console", "Overview").await;
    b.expect_text(PA_AGENT.email).await;
    b.close().await;
}
