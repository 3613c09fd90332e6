//! A person's consents: listed by the API and the console, and withdrawn there — the app's
//! tokens of that person die at once, and the next sign-in through it asks again.

use super::{
    rp,
    steps::{refresh, third_party, tokens_for, userinfo_status},
};
use crate::helpers::{MM_AGENT, PA_AGENT, console::Console, spawn_app};

#[tokio::test]
async fn withdrawing_a_consent_ends_the_apps_tokens_and_the_next_sign_in_asks_again() {
    let app = spawn_app().await;
    let client = third_party(&app).await;
    let tokens = tokens_for(&app, &client, &PA_AGENT).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    // another person's consent to the same app is theirs alone
    let theirs = tokens_for(&app, &client, &MM_AGENT).await;

    let mine = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    let listed: serde_json::Value = app
        .get_as("/api/v1/auth/consents", &mine.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["client_id"], client.id.to_string(), "{listed}");
    assert_eq!(listed[0]["name"], "Test CRM");
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let path = format!("/api/v1/auth/consents/{}", client.id);
    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&mine.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        userinfo_status(&app, access).await,
        401,
        "the app's access token died"
    );
    let (status, body) = refresh(&app, &client, refresh_token).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let theirs_access = theirs["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo_status(&app, theirs_access).await,
        200,
        "not another person's"
    );

    let again = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&mine.access)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "nothing left to withdraw");

    // the next sign-in through the app asks for consent again
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let (_, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    assert!(page.body.contains("/oauth2/authorize/consent"), "{page:?}");
}

#[tokio::test]
async fn the_console_lists_the_apps_and_withdraws_one() {
    let app = spawn_app().await;
    let client = third_party(&app).await;
    let tokens = tokens_for(&app, &client, &PA_AGENT).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let page = console.get("/console/account/sessions").await;
    assert!(page.shows("Test CRM"), "{}", page.body);
    let path = format!("/console/account/apps/{}/revoke", client.id);
    let done = console.post(&path, &[]).await;
    assert_eq!(done.location.as_deref(), Some("/console/account/sessions"));
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access).await, 401);
    let page = console.get("/console/account/sessions").await;
    assert!(!page.shows("Test CRM"), "withdrawn");
}
