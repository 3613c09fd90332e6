//! An invitation end to end in the browser: a principal invites a new agent on the
//! invitations page, the mail reaches the test SMTP server, the invitee opens the mailed link
//! (its path and query, on the test server), sets a password and lands signed in.

use std::time::Duration;

use crate::helpers::{PA_PRINCIPAL, count, smtp::mailing_app};

use super::{Browser, sign_in, sign_out};

const INVITEE: &str = "nora.newman@premiumauto.com";

#[tokio::test]
async fn console_browser_a_principal_invites_an_agent_who_opens_the_mailed_link_and_lands_signed_in()
 {
    let (app, smtp) = mailing_app(|_| {}).await;
    let b = Browser::open(&app).await;
    sign_in(&b, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    b.open_page("/console/invitations", "Invitations").await;
    b.check_a11y("invitations").await;
    b.fill("Email", INVITEE).await;
    b.choose("Role", "Agent").await;
    b.press("Send invitation").await;
    b.wait_for_text(INVITEE).await;
    b.check_a11y("invitations: sent").await;
    b.screenshot("invitations.png").await;
    sign_out(&b).await;

    let mail = smtp.wait_for(INVITEE, 1, Duration::from_secs(10)).await;
    let text = mail[0].text();
    let at = text
        .find("/console/accept-invitation?token=")
        .unwrap_or_else(|| panic!("a link to the console's page in the mail:\n{text}"));
    let link: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    b.goto(&link).await;
    b.check_a11y("accept invitation").await;
    b.screenshot("accept-invitation.png").await;
    b.fill("First name", "Nora").await;
    b.fill("Last name", "Newman").await;
    b.fill("Password", "a long enough passphrase").await;
    b.press("Create my account").await;
    b.expect_page("Overview").await;
    b.expect_text(INVITEE).await;
    b.check_a11y("overview after accepting").await;
    let live = count(
        &app.db.owner().await,
        &format!(
            "SELECT count(*) AS n FROM sessions s JOIN memberships m ON m.id = s.user_id \
             JOIN people p ON p.id = m.person_id \
             WHERE p.email = '{INVITEE}' AND s.revoked_at IS NULL"
        ),
    )
    .await;
    assert_eq!(live, 1, "signed in: a real session");
    b.close().await;
}
