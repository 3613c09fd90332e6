//! Which membership a client's tokens are for: the picker for a person with several the client
//! may use, only those of the dealerships a client is confined to, and none of a suspended
//! dealership or a deactivated membership — at the authorization endpoint and at refresh.

use reqwest::{Method, StatusCode};

use super::{
    rp::{self, Registered, Spec},
    steps::{self, back_at_client, choose, first_party, sign_in_during},
};
use crate::helpers::{
    PA_AGENT, PA_MANAGER, PA_MANAGER_NORTH, PA_PRINCIPAL, PREMIUM_AUTO, PREMIUM_AUTO_NORTH,
    TestApp, console::Console, exec, spawn_app,
};

const NORTH_ONLY: &str = "ARRAY['0193a5f0-0000-7000-8000-000000000003']::uuid[]";

async fn confined_to_north(app: &TestApp) -> Registered {
    let spec = Spec {
        first_party: true,
        dealerships: NORTH_ONLY,
        ..Spec::default()
    };
    rp::register(app, spec).await
}

fn dealerships_of(id_token: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = id_token["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| m["dealership_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn suspend(app: &TestApp, dealership: uuid::Uuid) {
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!("UPDATE dealerships SET is_active = false WHERE id = '{dealership}'"),
    )
    .await;
}

#[tokio::test]
async fn signing_in_during_the_request_a_person_with_two_memberships_picks_one() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let mut console = Console::new(&app);
    let (verifier, challenge) = rp::pkce();
    let path = rp::authorize_path(client.id, &challenge, &[]);
    let picker = sign_in_during(&mut console, &path, &PA_MANAGER).await;
    assert_eq!(picker.status, StatusCode::OK, "{picker:?}");
    assert!(picker.shows("Premium Auto North"), "{}", picker.body);
    assert!(picker.body.contains(&PA_MANAGER.id.to_string()));
    assert!(picker.body.contains(&PA_MANAGER_NORTH.to_string()));

    let chosen = choose(&mut console, &picker, PA_MANAGER_NORTH).await;
    let location = chosen
        .location
        .clone()
        .unwrap_or_else(|| panic!("{chosen:?}"));
    let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = rp::claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["dealership_id"], PREMIUM_AUTO_NORTH.to_string());
    assert_eq!(id["membership_id"], PA_MANAGER_NORTH.to_string());
    assert_eq!(
        id["sub"],
        PA_MANAGER.id.to_string(),
        "the person, not the membership"
    );
    let mut both = vec![PREMIUM_AUTO.to_string(), PREMIUM_AUTO_NORTH.to_string()];
    both.sort();
    assert_eq!(dealerships_of(&id), both);

    // the refresh keeps to the chosen membership
    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, again) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 200, "{again}");
    let id = rp::claims(again["id_token"].as_str().unwrap());
    assert_eq!(id["dealership_id"], PREMIUM_AUTO_NORTH.to_string());

    // already signed in: no picker, the console's membership; prompt=select_account asks
    let (_, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    assert!(back_at_client(&page).contains_key("code"), "{page:?}");
    let select = [("prompt", "select_account")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &select))
        .await;
    assert!(page.body.contains("/oauth2/authorize/choose"), "{page:?}");
    let silent = [("prompt", "none"), ("max_age", "100000")];
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &silent))
        .await;
    assert!(back_at_client(&page).contains_key("code"), "{page:?}");
}

#[tokio::test]
async fn a_client_confined_to_one_dealership_sees_only_that_membership() {
    let app = spawn_app().await;
    let client = confined_to_north(&app).await;
    let mut console = Console::new(&app);
    let (verifier, challenge) = rp::pkce();
    let path = rp::authorize_path(client.id, &challenge, &[]);
    let page = sign_in_during(&mut console, &path, &PA_MANAGER).await;
    let location = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("no picker: {page:?}"));
    let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = rp::claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["dealership_id"], PREMIUM_AUTO_NORTH.to_string());
    assert_eq!(dealerships_of(&id), vec![PREMIUM_AUTO_NORTH.to_string()]);

    // a person with no membership there is refused: access_denied
    let mut agent = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;
    let page = agent
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let params = back_at_client(&page);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-123");
}

#[tokio::test]
async fn a_suspended_dealership_is_refused_at_authorize_and_at_refresh() {
    let app = spawn_app().await;
    let client = confined_to_north(&app).await;
    let open = first_party(&app).await;
    let mut console = Console::signed_in(&app, PA_MANAGER.email, PA_MANAGER.password).await;
    let (verifier, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    let (status, body) = rp::exchange(&app, &client, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");

    suspend(&app, PREMIUM_AUTO_NORTH).await;

    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, refused) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");

    // nothing usable left for the confined client
    let page = console
        .get(&rp::authorize_path(client.id, &challenge, &[]))
        .await;
    assert_eq!(back_at_client(&page)["error"], "access_denied");

    // an unconfined client: only Premium Auto is left, so no picker even when asked
    let (verifier, challenge) = rp::pkce();
    let select = [("prompt", "select_account")];
    let page = console
        .get(&rp::authorize_path(open.id, &challenge, &select))
        .await;
    let location = page.location.clone().unwrap_or_else(|| panic!("{page:?}"));
    let (status, body) = rp::exchange(&app, &open, &location, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = rp::claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["dealership_id"], PREMIUM_AUTO.to_string());
    assert_eq!(dealerships_of(&id), vec![PREMIUM_AUTO.to_string()]);
}

#[tokio::test]
async fn a_deactivated_membership_loses_its_refresh_and_cannot_authorize() {
    let app = spawn_app().await;
    let client = first_party(&app).await;
    let body = steps::tokens_for(&app, &client, &PA_AGENT).await;
    let mut console = Console::signed_in(&app, PA_AGENT.email, PA_AGENT.password).await;

    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await
        .access;
    let path = format!("/api/v1/users/{}/toggle-active", PA_AGENT.id);
    let resp = app
        .as_user(Method::PATCH, &path, &principal)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, refused) = steps::refresh(&app, &client, refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(steps::userinfo_status(&app, access).await, 401);

    // the browser's session ended with it: no code without signing in
    let (_, challenge) = rp::pkce();
    let page = console
        .get(&rp::authorize_path(
            client.id,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(back_at_client(&page)["error"], "login_required");
}
