//! A newcomer's first hour in dev: `/` leads to Swagger UI, a mailed link can be copied from
//! the outbox's decoded text, a session confined to enrolling says so in the login's answer,
//! the demo admin gets in with the code `dealergate dev totp` prints, and `seed --reset` brings
//! the demo data back. The dev commands refuse a database the demo seed did not write, and prod
//! refuses to serve one it did.

use std::time::{Duration, Instant};

use dealergate::{config::Profile, startup::Application};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, Totp};

use crate::helpers::{
    ADMIN, PA_AGENT, TestDb, count, dealergate as run_dealergate, exec, spawn_app_with, stdout,
    test_settings,
};

/// The documented secret of the demo admin's app (README, `seed/demo.toml`).
const DEMO_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[tokio::test]
async fn the_root_leads_to_the_docs_in_dev_and_to_nothing_in_prod() {
    let dev = spawn_app_with(|s| s.profile = Profile::Dev).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(dev.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/docs");

    let prod = spawn_app_with(|s| s.profile = Profile::Prod).await;
    let root = client.get(prod.url("/")).send().await.unwrap();
    assert_eq!(root.status(), 404);
    let body: Value = root.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found");
}

#[tokio::test]
async fn a_login_confined_to_enrolling_says_so_and_where() {
    let app =
        spawn_app_with(|s| s.auth.mfa.required_roles = vec![dealergate::domain::Role::Admin]).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await;
    assert_eq!(admin.body["mfa"], "must_enrol");
    assert_eq!(admin.body["enrol_at"], "/api/v1/auth/mfa/totp");
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(agent.body["mfa"], "optional");
    assert_eq!(agent.body["enrol_at"], Value::Null);
}

#[tokio::test]
async fn the_dev_outbox_writes_the_decoded_text_beside_each_message() {
    let app = spawn_app_with(|s| {
        s.profile = Profile::Dev;
        s.mail.smtp_url = None;
        s.mail.public_base_url = None;
    })
    .await;
    let asked = app
        .post_json(
            "/api/v1/auth/password-reset",
            json!({"email": PA_AGENT.email}),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let dir = app.state.settings.mail.outbox_dir.clone();
    let started = Instant::now();
    let text = loop {
        let found = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "txt"));
        if let Some(file) = found {
            break std::fs::read_to_string(file).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no .txt in {dir:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(text.starts_with("To: agent@premiumauto.com\n"), "{text}");
    // the token is copied as it stands in the text, and it works
    let start = text.find("token=").expect("a link") + "token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let confirmed = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "a copied link works"}),
        )
        .await;
    assert_eq!(confirmed.status(), 204, "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A database of its own, named for the test, on the test cluster: what `cargo run` makes.
fn own_database(name: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_path(&format!("/{name}"));
    url.set_query(Some("sslmode=disable"));
    url.to_string()
}

fn codes_around_now() -> Vec<String> {
    let totp: Totp = totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(
            Secret::try_from_base32(DEMO_SECRET)
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
        .build()
        .unwrap();
    let now = crate::helpers::mfa::unix_now();
    [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t).to_string())
        .collect()
}

#[tokio::test]
async fn dev_totp_prints_the_demo_admins_code_and_seed_reset_restores_the_demo() {
    let name = format!("dg_first_hour_{}", uuid::Uuid::new_v4().simple());
    let url = own_database(&name);
    let env = [("DATABASE_URL", url.as_str())];
    // a fresh machine: reset creates, migrates and seeds
    let reset = run_dealergate(&["seed", "--reset"], &env, None);
    assert!(reset.status.success(), "{reset:?}");
    let printed = run_dealergate(&["dev", "totp", ADMIN.email], &env, None);
    assert!(printed.status.success(), "{printed:?}");
    let code = stdout(&printed).trim().to_owned();
    assert!(
        codes_around_now().contains(&code),
        "{code} is the app's code"
    );
    // only demo users' codes: not anyone else's
    let other = run_dealergate(&["dev", "totp", "someone@example.com"], &env, None);
    assert!(!other.status.success(), "{other:?}");

    // what a newcomer does to the demo data, undone
    let owner = crate::helpers::connect_single(&url).await;
    exec(&owner, "UPDATE users SET first_name = 'Changed'").await;
    exec(&owner, "DELETE FROM mfa_factors").await;
    let reset = run_dealergate(&["seed", "--reset"], &env, None);
    assert!(reset.status.success(), "{reset:?}");
    let owner = crate::helpers::connect_single(&url).await;
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM users WHERE first_name = 'Changed'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM mfa_factors").await,
        1
    );
    drop(owner);

    // prod refuses both commands, and refuses to serve the demo database
    let prod = [
        ("DATABASE_URL", url.as_str()),
        ("DEALERGATE_PROFILE", "prod"),
    ];
    assert!(
        !run_dealergate(&["seed", "--reset"], &prod, None)
            .status
            .success()
    );
    assert!(
        !run_dealergate(&["dev", "totp", ADMIN.email], &prod, None)
            .status
            .success()
    );
    drop_database(&name).await;
}

#[tokio::test]
async fn the_dev_commands_refuse_a_database_the_demo_seed_did_not_write() {
    let name = format!("dg_not_demo_{}", uuid::Uuid::new_v4().simple());
    let url = own_database(&name);
    let server = crate::helpers::connect_single(&own_database("postgres")).await;
    exec(&server, &format!("CREATE DATABASE \"{name}\"")).await;
    let env = [("DATABASE_URL", url.as_str())];
    let migrated = run_dealergate(&["migrate", "up"], &env, None);
    assert!(migrated.status.success(), "{migrated:?}");
    let owner = crate::helpers::connect_single(&url).await;
    exec(
        &owner,
        "INSERT INTO dealerships (id, name) VALUES (gen_random_uuid(), 'A real rooftop')",
    )
    .await;
    // a dev-profile `seed` (what a dev `serve` runs) on it adds the demo rows but no mark
    let seeded = run_dealergate(&["seed"], &env, None);
    assert!(seeded.status.success(), "{seeded:?}");
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM demo_seed").await,
        0
    );
    let reset = run_dealergate(&["seed", "--reset"], &env, None);
    assert!(!reset.status.success());
    assert!(
        String::from_utf8_lossy(&reset.stderr).contains("did not write it"),
        "{reset:?}"
    );
    let totp = run_dealergate(&["dev", "totp", ADMIN.email], &env, None);
    assert!(!totp.status.success(), "{totp:?}");
    assert_eq!(
        count(
            &owner,
            "SELECT count(*) AS n FROM dealerships WHERE name = 'A real rooftop'"
        )
        .await,
        1,
        "nothing was wiped"
    );
    drop(owner);
    drop_database(&name).await;
}

#[tokio::test]
async fn prod_refuses_to_serve_a_database_the_demo_seed_wrote() {
    let db = TestDb::new().await;
    exec(&db.owner().await, "INSERT INTO demo_seed DEFAULT VALUES").await;
    let mut settings = test_settings(&db);
    settings.profile = Profile::Prod;
    settings.mail.smtp_url = Some(dealergate::config::Secret::new("smtp://127.0.0.1:9".into()));
    settings.mail.public_base_url = Some("https://app.example.com".into());
    let err = Application::build(settings).await.err().expect("refused");
    assert!(format!("{err:#}").contains("demo seed"), "{err:#}");
}

async fn drop_database(name: &str) {
    let server = crate::helpers::connect_single(&own_database("postgres")).await;
    exec(
        &server,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
}
