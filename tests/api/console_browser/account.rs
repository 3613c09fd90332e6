//! The account pages in the browser (axe on each), and a forgotten password: the link mailed
//! to the test SMTP server opens the console's page, a new password is set and signs in.

use std::time::Duration;

use crate::helpers::{PA_AGENT, smtp::mailing_app};

use super::{Browser, sign_in};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn console_browser_the_account_pages_and_a_forgotten_password_from_the_mailed_link() {
    let (app, smtp) = mailing_app(|_| {}).await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_AGENT.email, PA_AGENT.password).await;
    for (path, h1, name) in [
        ("/console/account", "My account", "account"),
        (
            "/console/account/factors",
            "Second factors",
            "second-factors",
        ),
        ("/console/account/sessions", "My sessions", "sessions"),
    ] {
        b.open_page(path, h1).await;
        b.check_a11y(h1).await;
        b.screenshot(&format!("{name}.png")).await;
    }
    b.press("Sign out").await;

    b.open_page("/console/sign-in", "Sign in").await;
    b.press("Forgot your password?").await;
    b.expect_page("Forgot your password?").await;
    b.check_a11y("forgot password").await;
    b.fill("Email", PA_AGENT.email).await;
    b.press("Mail me a link").await;
    let mail = smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await;
    let text = mail[0].text();
    let at = text
        .find("/console/reset-password?token=")
        .unwrap_or_else(|| panic!("a link to the console's page in the mail:\n{text}"));
    let link: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    b.open_page(&link, "Choose a new password").await;
    b.check_a11y("new password").await;
    b.fill("New password", NEW_PASSWORD).await;
    b.press("Set the new password").await;
    sign_in(&b, PA_AGENT.email, NEW_PASSWORD).await;
    b.expect_page("Overview").await;
    b.close().await;
}
