//! The OpenID clients in the console: the admin registers one with the form (its secret shown
//! on the answer and on no page after), sees the API's field errors by line, rotates the
//! secret (the new one shown once, the previous one still working), disables and deletes it.
//! The same refusals as the API for a principal.

use reqwest::StatusCode;
use serde_json::Value;

use super::admin_token;
use crate::helpers::{
    ADMIN, PA_PRINCIPAL, PREMIUM_AUTO, TestApp,
    console::{Console, Page},
    count, spawn_app,
};

/// The secret a page shows once, if it shows one.
fn secret_on(page: &Page) -> Option<String> {
    let marker = "<code aria-label=\"Client secret\">";
    let rest = &page.body[page.body.find(marker)? + marker.len()..];
    Some(rest[..rest.find('<')?].to_owned())
}

/// How many of `secrets` are live secrets of client `id` (the definer lookup's view).
async fn live(app: &TestApp, id: &str, secrets: &[&str]) -> i64 {
    let listed = secrets
        .iter()
        .map(|s| format!("sha256(convert_to('{s}', 'UTF8'))"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT count(*) AS n FROM oauth_client('{id}') c, unnest(c.secret_hashes) h \
         WHERE h IN ({listed})"
    );
    count(&app.db.owner().await, &sql).await
}

const DESKING: [(&str, &str); 7] = [
    ("name", "Desking"),
    ("kind", "confidential"),
    (
        "redirect_uris",
        "https://desking.example.com/cb\r\n\r\nhttp://127.0.0.1/cb",
    ),
    ("post_logout_redirect_uris", ""),
    ("scope", "openid"),
    ("scope", "dealership"),
    ("id_token_alg", "ES256"),
];

#[tokio::test]
async fn admin_registers_a_client_sees_its_secret_once_rotates_disables_and_deletes_it() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, ADMIN.email, ADMIN.password).await;
    let home = console.get("/console").await;
    assert!(
        home.body.contains("href=\"/console/clients\""),
        "in the menu"
    );
    let list = console.get("/console/clients").await;
    assert!(list.shows("No client is registered yet"), "{}", list.body);
    console.get("/console/clients/new").await;

    // the API's errors, by line, beside the field; nothing registered
    let mut bad = DESKING.to_vec();
    bad[2] = (
        "redirect_uris",
        "https://desking.example.com/cb\nhttps://x.example.com/cb#frag",
    );
    bad[4] = ("scope", "profile");
    let refused = console.post("/console/clients", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"e-redirect_uris\""),
        "{}",
        refused.body
    );
    assert!(
        refused.shows("Line 2: must not have a fragment."),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("id=\"e-scopes\""));
    assert!(
        refused.shows("https://x.example.com/cb#frag"),
        "what was typed stays"
    );
    let owner = app.db.owner().await;
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM oauth_clients").await,
        0
    );

    let premium_auto = PREMIUM_AUTO.to_string();
    let mut confined = DESKING.to_vec();
    confined.push(("dealership_id", &premium_auto));
    let made = console.post("/console/clients", &confined).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.shows("Desking was registered."), "{}", made.body);
    let first = secret_on(&made).expect("the secret, once");
    let token = admin_token(&app).await;
    let listed: Vec<Value> = app
        .get_as("/api/v1/oauth-clients", &token)
        .await
        .json()
        .await
        .unwrap();
    let client = &listed[0];
    let id = client["id"].as_str().unwrap().to_owned();
    assert_eq!(
        client["redirect_uris"].as_array().unwrap().len(),
        2,
        "{client}"
    );
    assert_eq!(
        client["scopes"],
        serde_json::json!(["openid", "dealership"])
    );
    assert_eq!(client["dealership_ids"][0], PREMIUM_AUTO.to_string());
    assert_eq!(live(&app, &id, &[&first]).await, 1);
    let page = console.get(&format!("/console/clients/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        secret_on(&page).is_none() && !page.body.contains(&first),
        "shown once only"
    );

    let rotated = console
        .post(&format!("/console/clients/{id}/secret"), &[])
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = secret_on(&rotated).expect("the new secret, once");
    assert_ne!(first, second);
    assert!(
        rotated.shows("works until"),
        "the previous one's end is shown"
    );
    assert_eq!(live(&app, &id, &[&first, &second]).await, 2, "the overlap");

    let saved = console
        .post(
            &format!("/console/clients/{id}"),
            &[
                ("name", "Desking 2"),
                ("redirect_uris", "https://desking.example.com/cb"),
                ("scope", "openid"),
                ("id_token_alg", "EdDSA"),
                ("first_party", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = console.follow(&saved).await;
    assert!(
        page.shows("Saved.") && page.shows("Desking 2"),
        "{}",
        page.body
    );
    let shown: Value = app
        .get_as(&format!("/api/v1/oauth-clients/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["first_party"], true);
    assert_eq!(shown["dealership_ids"], serde_json::json!([]), "unticked");

    let disabled = console
        .post(
            &format!("/console/clients/{id}/active"),
            &[("is_active", "false")],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    let page = console.follow(&disabled).await;
    assert!(page.shows("The client is disabled"), "{}", page.body);
    assert!(page.shows("Enable"));
    let deleted = console
        .post(&format!("/console/clients/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.location.as_deref(), Some("/console/clients"));
    for (action, n) in [
        ("oauth_client.created", 1),
        ("oauth_client.secret_rotated", 1),
        ("oauth_client.updated", 2),
        ("oauth_client.deleted", 1),
    ] {
        let sql = format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}' \
             AND target_id = '{id}'"
        );
        assert_eq!(count(&owner, &sql).await, n, "{action}");
    }
}

#[tokio::test]
async fn client_pages_are_the_not_allowed_page_for_a_principal() {
    let app = spawn_app().await;
    let mut console = Console::signed_in(&app, PA_PRINCIPAL.email, PA_PRINCIPAL.password).await;
    let home = console.get("/console").await;
    assert!(
        !home.body.contains("href=\"/console/clients\""),
        "not in the menu"
    );
    for path in ["/console/clients", "/console/clients/new"] {
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    let refused = console.post("/console/clients", &DESKING).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let made = "SELECT count(*) AS n FROM oauth_clients";
    assert_eq!(count(&app.db.owner().await, made).await, 0);
}
