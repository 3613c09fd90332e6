//! Nothing secret reaches the log: not passwords, hashes, tokens, keys or connection passwords.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tracing_subscriber::fmt::MakeWriter;

use crate::helpers::{DEMO_USERS, PA_AGENT, spawn_app};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_password_hash_token_or_key_appears_in_the_server_log() {
    let log = Captured::default();
    // the prod format (telemetry.rs): json-subscriber, the request span's fields in `span`
    json_subscriber::fmt()
        .with_env_filter("trace,hyper=debug,h2=debug,rustls=debug,tokio=debug,runtime=debug")
        .with_writer(log.clone())
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .try_init()
        .expect("this test owns the process's subscriber");

    let app = spawn_app().await;
    let mut secrets: Vec<String> = Vec::new();
    // this test's own requests, told apart from any other server's in this process by their id
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut me_ids = Vec::new();
    for (n, user) in DEMO_USERS.iter().enumerate() {
        let tokens = app.login_ok(user.email, user.password).await;
        let rotated = app.refresh_ok(&tokens.refresh).await;
        let id = format!("logs-{run}-me-{n}");
        let me = app
            .as_user(Method::GET, "/api/v1/auth/me", &rotated.access)
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        assert_eq!(me.headers()["x-request-id"], id.as_str(), "the id is taken");
        me_ids.push((id, user.dealership.is_some()));
        secrets.extend([
            user.password.to_owned(),
            tokens.access,
            tokens.refresh,
            rotated.access.clone(),
            rotated.refresh,
        ]);
        app.post_as("/api/v1/auth/logout", &rotated.access).await;
    }
    app.login(PA_AGENT.email, "a-wrong-password-9f2").await;
    secrets.push("a-wrong-password-9f2".into());
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    app.as_user(Method::POST, "/api/v1/auth/password", &tokens.access)
        .json(&serde_json::json!({"current_password": PA_AGENT.password, "new_password": "new-secret-passphrase-31"}))
        .send()
        .await
        .unwrap();
    secrets.push("new-secret-passphrase-31".into());
    app.get_as("/api/v1/auth/me", "eyJhbGciOiJub25lIn0.forged-token-body.")
        .await;
    secrets.push("forged-token-body".into());

    let owner = app.db.owner().await;
    for row in owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT password_hash FROM users",
        ))
        .await
        .unwrap()
    {
        let hash: String = row.try_get("", "password_hash").unwrap();
        secrets.push(hash.rsplit('$').next().unwrap().to_owned());
    }
    let auth = &app.state.settings.auth;
    let pem = auth.signing_key.as_ref().unwrap().expose();
    secrets.push(pem.lines().nth(1).unwrap().to_owned());
    secrets.push(auth.refresh_token_secret.as_ref().unwrap().expose().clone());
    secrets.push(auth.mfa.encryption_key.as_ref().unwrap().expose().clone());
    secrets.push("test-login-password-7c1e".into());

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("request finished"), "the log was captured");
    assert!(
        text.len() > 10_000,
        "and it is substantial: {} bytes",
        text.len()
    );
    for secret in &secrets {
        if let Some(line) = text.lines().find(|l| l.contains(secret.as_str())) {
            panic!(
                "leaked into the log: {}… in: {}",
                &secret[..secret.len().min(12)],
                line.replace(secret.as_str(), "<SECRET>")
            );
        }
    }
    assert!(!text.contains("$argon2id$"), "a password hash in the log");

    // every request's line carries its request id, route, status, latency, user and tenant;
    // only this test's own GET /auth/me lines are counted (other tests' servers in this process
    // log to the same subscriber)
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "request finished")
        .collect();
    assert_eq!(me_ids.len(), 7, "one GET /auth/me per demo user");
    for (id, has_tenant) in &me_ids {
        let mine: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id.as_str())
            .collect();
        let [line] = mine.as_slice() else {
            panic!("one line for request {id}, found {mine:?}");
        };
        assert_eq!(line["span"]["route"], "/api/v1/auth/me", "{line}");
        assert_eq!(line["status"], 200, "{line}");
        assert!(line["latency_ms"].is_f64(), "{line}");
        assert!(line["span"]["user_id"].is_string(), "{line}");
        assert_eq!(
            line["span"]["dealership_id"].is_string(),
            *has_tenant,
            "every caller but the platform admin has a tenant: {line}"
        );
    }
}
