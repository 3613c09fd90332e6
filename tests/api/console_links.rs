//! What mailed links open in the console: a new password after asking for the link, and an
//! invitation accepted (a new account signed in at once, or one more dealership for an account
//! that exists). The link's GET shows a form and uses nothing up.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, console::Console, count, smtp::mailing_app,
};

/// The path and query of the link in a message, opened on the test server as a person would
/// open the mailed address.
fn link_path(text: &str) -> String {
    let start = text
        .find("/console/")
        .unwrap_or_else(|| panic!("a console link in {text}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect::<String>()
        .replace("=\r\n", "")
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link_and_the_new_one_signs_in() {
    let (app, smtp) = mailing_app(|_| {}).await;
    let mut console = Console::new(&app);
    console.get("/console/forgot-password").await;
    let asked = console
        .post("/console/forgot-password", &[("email", PA_AGENT.email)])
        .await;
    assert_eq!(
        asked.location.as_deref(),
        Some("/console/sign-in"),
        "{asked:?}"
    );
    let unknown = console
        .post(
            "/console/forgot-password",
            &[("email", "nobody@nowhere.test")],
        )
        .await;
    assert_eq!(
        unknown.location, asked.location,
        "the same answer for anyone"
    );
    let mail = &smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    let link = link_path(&mail.text());
    assert!(link.starts_with("/console/reset-password?token="), "{link}");
    let form = console.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let weak = console
        .post(
            "/console/reset-password",
            &[("token", &mail.token()), ("new_password", "short")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("id=\"e-new_password\""), "{}", weak.body);
    let done = console
        .post(
            "/console/reset-password",
            &[
                ("token", &mail.token()),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some("/console/sign-in"),
        "{}",
        done.body
    );
    let again = console
        .post(
            "/console/reset-password",
            &[
                ("token", &mail.token()),
                ("new_password", "another new passphrase"),
            ],
        )
        .await;
    assert!(
        again.shows("This link is invalid or has expired."),
        "{}",
        again.body
    );
    let signed_in = console
        .sign_in(PA_AGENT.email, "a brand new passphrase")
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_invitee_opens_the_link_sets_a_password_and_lands_signed_in() {
    let (app, smtp) = mailing_app(|_| {}).await;
    let tokens = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let invitee = "nora.newman@premiumauto.com";
    let body = json!({"email": invitee, "role": "agent", "first_name": "Nora"});
    let resp = app
        .send_as(
            reqwest::Method::POST,
            "/api/v1/invitations",
            &tokens.access,
            body,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let mail = &smtp.wait_for(invitee, 1, Duration::from_secs(10)).await[0];
    let link = link_path(&mail.text());
    assert!(
        link.starts_with("/console/accept-invitation?token="),
        "{link}"
    );
    let mut console = Console::new(&app);
    let form = console.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    let owner = app.db.owner().await;
    let pending = "SELECT count(*) AS n FROM invitations WHERE accepted_at IS NULL";
    assert_eq!(
        count(&owner, pending).await,
        1,
        "opening the link uses nothing up"
    );
    let token = mail.token();
    let fields = |password: &'static str| {
        vec![
            ("token", token.clone()),
            ("first_name", "Nora".to_owned()),
            ("last_name", "Newman".to_owned()),
            ("phone", String::new()),
            ("password", password.to_owned()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let weak = as_refs(&fields("password"));
    let weak: Vec<(&str, &str)> = weak.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = console.post("/console/accept-invitation", &weak).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"e-password\""),
        "{}",
        refused.body
    );
    let good = as_refs(&fields("a long enough passphrase"));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let accepted = console.post("/console/accept-invitation", &good).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let overview = console.follow(&accepted).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.shows("Nora Newman") && overview.shows("Premium Auto"));
    let joined = format!(
        "SELECT count(*) AS n FROM memberships m JOIN people p ON p.id = m.person_id \
         WHERE p.email = '{invitee}' AND m.dealership_id = '{PREMIUM_AUTO}' AND m.role = 'agent'"
    );
    assert_eq!(count(&owner, &joined).await, 1);
}
