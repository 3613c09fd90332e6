//! Signing in with a second factor in the browser: the admin (whose role requires one) is
//! sent to enrol an authenticator app on first sign-in — the QR code and secret, the first
//! code, the recovery codes shown once — then signs out and in again through the second
//! step, the test computing each code from the secret the page showed.

use dealergate::domain::Role;

use crate::helpers::{ADMIN, PA_AGENT, count, mfa::Authenticator, spawn_app, spawn_app_with};

use super::{Browser, sign_in, sign_out};

#[tokio::test]
async fn console_browser_admin_enrols_an_app_then_signs_in_with_the_second_step() {
    let app = spawn_app_with(|s| s.auth.mfa.required_roles = vec![Role::Admin]).await;
    let b = Browser::open(&app).await;

    b.open_page("/console/sign-in", "Sign in").await;
    b.check_a11y("sign-in").await;
    b.screenshot("sign-in.png").await;
    sign_in(&b, ADMIN.email, ADMIN.password).await;

    // must enrol: the password again, then the QR code and its secret
    assert_eq!(b.path().await, "/console/enrol", "{}", b.text().await);
    b.expect_page("Authenticator app").await;
    b.check_a11y("enrol: password").await;
    b.fill("Your password", ADMIN.password).await;
    b.press("Continue").await;
    b.find("figure.qr svg").await;
    b.check_a11y("enrol: QR code").await;
    b.screenshot("enrol-qr-code.png").await;
    let secret = b.text_of("main code").await;
    let phone = Authenticator::of_secret(secret.trim());
    b.fill("Code from your app", &phone.next_code().await).await;
    b.press("Confirm").await;
    b.expect_text("Your authenticator app is set up.").await;
    let codes = b.text_of("ul.codes").await;
    assert_eq!(codes.lines().count(), 10, "ten recovery codes: {codes}");
    b.check_a11y("enrol: recovery codes").await;
    b.press("Continue to the console").await;
    b.expect_page("Overview").await;
    b.check_a11y("overview (admin)").await;
    b.screenshot("overview.png").await;
    assert!(b.script_cookies().await.is_empty(), "HttpOnly cookies only");
    let factors = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{}' AND confirmed_at IS NOT NULL",
            ADMIN.id
        ),
    )
    .await;
    assert_eq!(factors, 1, "the app is enrolled");

    sign_out(&b).await;
    b.expect_text("You are signed out.").await;
    sign_in(&b, ADMIN.email, ADMIN.password).await;
    b.expect_page("Second step").await;
    b.check_a11y("second step").await;
    b.screenshot("sign-in-second-step.png").await;
    b.fill("Code from your app", "12345").await;
    b.press("Continue").await;
    b.expect_page("Second step").await;
    b.find("#e-code").await;
    b.check_a11y("second step: wrong code").await;
    b.fill("Code from your app", &phone.next_code().await).await;
    b.press("Continue").await;
    b.expect_page("Overview").await;
    b.expect_text("System Admin (admin@example.com)").await;
    b.open_page("/console/step-up", "Confirm it is you").await;
    b.check_a11y("step-up prompt").await;
    b.close().await;
}

#[tokio::test]
async fn console_browser_wrong_passwords_show_the_apis_words_beside_the_form() {
    let app = spawn_app().await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_AGENT.email, "not the password").await;
    b.expect_page("Sign in").await;
    b.expect_text("Wrong email or password.").await;
    b.check_a11y("sign-in: wrong password").await;
    sign_in(&b, "not an address", "x").await;
    b.find("#e-login").await;
    b.check_a11y("sign-in: field error").await;
    let names = b.cookie_names().await;
    assert!(
        !names.iter().any(|n| n == "__Host-dg_console"),
        "nobody signed in: {names:?}"
    );
    sign_in(&b, PA_AGENT.email, PA_AGENT.password).await;
    b.expect_page("Overview").await;
    let names = b.cookie_names().await;
    assert!(
        names.iter().any(|n| n == "__Host-dg_console"),
        "Chromium keeps the Secure __Host- cookie on http://127.0.0.1: {names:?}"
    );
    b.close().await;
}
