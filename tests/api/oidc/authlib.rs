//! A relying party from another ecosystem: Python's Authlib (tests/oidc/authlib_rp.py) against
//! the real server. The script discovers the provider at the issuer, builds the authorization
//! request (PKCE S256, state, nonce) and prints it; the person's part — signing in and allowing
//! the app — is played here with the console's cookie client, and the redirect it ends in goes
//! back to the script, which exchanges the code, validates the ID token against the JWKS
//! (signature, iss, aud, nonce, at_hash), calls userinfo, refreshes and revokes, and prints
//! what it saw.
//!
//! The script runs with the virtualenv tests/run.sh makes (`tests/oidc/.venv`, Authlib and
//! requests; `DEALERGATE_RP_PYTHON` names another python). Without it the test says so loudly
//! and passes outside CI; in CI (`CI=true`) it fails.

use std::{path::PathBuf, process::Stdio};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
};

use super::rp::{self, REDIRECT, Spec};
use crate::helpers::{PA_AGENT, PREMIUM_AUTO, TestApp, console::Console, spawn_app};

/// The venv's python, or `None` (with a loud message) where a developer has not made it.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("DEALERGATE_RP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/.venv/bin/python")
        });
    if python.exists() {
        return Some(python);
    }
    let missing = format!(
        "{} is missing: bash tests/run.sh makes the virtualenv with Authlib (or: python3 -m venv \
         tests/oidc/.venv && tests/oidc/.venv/bin/pip install authlib requests)",
        python.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{missing}");
    eprintln!("\n!!! SKIPPED the Authlib relying party: {missing}\n");
    None
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/authlib_rp.py")
}

#[tokio::test]
async fn python_authlib_signs_in_validates_the_id_token_refreshes_and_revokes() {
    let Some(python) = python() else { return };
    let app = spawn_app().await;
    let client = rp::register(&app, Spec::default()).await;
    let issuer = app.address.replace("127.0.0.1", "localhost");

    let mut child = Command::new(python)
        .arg(script())
        .args([
            issuer.as_str(),
            &client.id.to_string(),
            client.secret.as_deref().expect("a confidential client"),
            REDIRECT,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the venv's python starts");
    let mut stdin = child.stdin.take().expect("its stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("its stdout")).lines();
    let first = read_json(&mut lines, &mut child).await;
    let authorize_url = first["authorize_url"]
        .as_str()
        .expect("an authorization URL");
    assert!(authorize_url.starts_with(&issuer), "{authorize_url}");

    let callback = person_allows(&app, &authorize_url[issuer.len()..]).await;
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .expect("the script reads the callback");
    drop(stdin);

    let seen = read_json(&mut lines, &mut child).await;
    let status = child.wait().await.expect("the script ends");
    assert!(status.success(), "the script failed: {seen}");
    assert_eq!(seen["id_token_alg"], "ES256", "{seen}");
    assert!(seen["id_token_kid"].is_string(), "{seen}");
    assert_eq!(seen["sub"], PA_AGENT.id.to_string(), "{seen}");
    assert_eq!(seen["nonce"], true, "{seen}");
    assert_eq!(seen["at_hash"], true, "{seen}");
    assert_eq!(seen["dealership_id"], PREMIUM_AUTO.to_string(), "{seen}");
    assert_eq!(seen["userinfo_email"], PA_AGENT.email, "{seen}");
    assert_eq!(seen["revocation_status"], 200, "{seen}");
    assert_eq!(seen["refresh_after_revoke"], "invalid_grant", "{seen}");
    assert_eq!(seen["userinfo_after_revoke"], 401, "{seen}");
}

/// The person signs in at the console, opens the app's authorization request (`path`) and
/// allows it on the consent page: the redirect to the app, with the code.
async fn person_allows(app: &TestApp, path: &str) -> String {
    let mut console = Console::signed_in(app, PA_AGENT.email, PA_AGENT.password).await;
    let page = console.get(path).await;
    assert_eq!(page.status, 200, "the consent page: {page:?}");
    assert!(page.shows("is asking to"), "{}", page.body);
    let request =
        crate::helpers::console::hidden_field(&page.body, "request").expect("the waiting request");
    let answer = console
        .post(
            "/oauth2/authorize/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    let location = answer.location.unwrap_or_else(|| panic!("{}", answer.body));
    assert!(location.starts_with(REDIRECT), "{location}");
    location
}

/// The next line the script prints, as JSON; fails with its stderr when it ends instead.
async fn read_json(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    child: &mut tokio::process::Child,
) -> Value {
    let next = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line()).await;
    match next {
        Ok(Ok(Some(line))) => serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the script printed no JSON ({e}): {line}")),
        _ => {
            let _ = child.start_kill();
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = stderr.read_to_string(&mut err).await;
            }
            panic!("the Authlib script ended early:\n{err}")
        }
    }
}
