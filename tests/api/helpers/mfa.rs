//! A test's authenticator app: enrols through the API and computes codes from the secret the
//! enrolment showed, as a phone would (RFC 6238, via `totp-rs` reading the `otpauth://` URI).
//! Each code it hands out is of a later time step than the last, since the server accepts a
//! step once.

use std::{
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::Totp;

use super::{TestApp, Tokens};

pub const STEP: u64 = 30;

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub struct Authenticator {
    pub factor_id: String,
    pub totp: Totp,
    last_step: Mutex<u64>,
}

impl Authenticator {
    /// The app of a secret typed in from an enrolment page (base32), as apps read the QR
    /// code's `otpauth://` URI (SHA-1, six digits, 30-second steps).
    pub fn of_secret(secret: &str) -> Self {
        let uri = format!("otpauth://totp/dealergate:browser?secret={secret}&issuer=dealergate");
        Self {
            factor_id: String::new(),
            totp: Totp::from_url(&uri).expect("the enrolment page's secret"),
            last_step: Mutex::new(0),
        }
    }

    /// The code of time step `step` (`unix seconds / 30`).
    pub fn code_of_step(&self, step: u64) -> String {
        self.totp.generate(step * STEP).to_string()
    }

    /// A code the server has not seen yet and accepts now: the earliest step after the last
    /// one handed out, among the current step and its neighbours. Never within a second of a
    /// step's end, so the answer does not turn stale on its way.
    /// The step after the last one handed out, if it is no later than `current`'s neighbour.
    fn take_step(&self, current: u64) -> Option<u64> {
        let mut last = self.last_step.lock().unwrap();
        let candidate = (*last + 1).max(current - 1);
        (candidate <= current + 1).then(|| {
            *last = candidate;
            candidate
        })
    }

    pub async fn next_code(&self) -> String {
        loop {
            let now = unix_now();
            if STEP - now % STEP < 2 {
                tokio::time::sleep(Duration::from_millis(2_100)).await;
                continue;
            }
            if let Some(step) = self.take_step(now / STEP) {
                return self.code_of_step(step);
            }
            tokio::time::sleep(Duration::from_secs(STEP - now % STEP)).await;
        }
    }
}

/// What enrolling gave: the app, the recovery codes (shown once) and the access token the
/// confirmation answered.
pub struct Enrolled {
    pub app: Authenticator,
    pub recovery_codes: Vec<String>,
    pub access: String,
}

/// Starts enrolling as `token`: the pending factor's app, and the enrolment's body.
pub async fn start_enrolment(app: &TestApp, token: &str, password: &str) -> (Authenticator, Value) {
    let resp = app
        .send_as(
            Method::POST,
            "/api/v1/auth/mfa/totp",
            token,
            json!({"current_password": password}),
        )
        .await;
    assert_eq!(resp.status(), 201, "enrolment started");
    let body: Value = resp.json().await.unwrap();
    let uri = body["otpauth_uri"].as_str().unwrap();
    let totp = Totp::from_url(uri).expect("an otpauth URI authenticator apps read");
    assert_eq!(totp.secret().to_base32(), body["secret"].as_str().unwrap());
    let authenticator = Authenticator {
        factor_id: body["id"].as_str().unwrap().to_owned(),
        totp,
        last_step: Mutex::new(0),
    };
    (authenticator, body)
}

/// Enrols and confirms an app for the signed-in `token`.
pub async fn enrol(app: &TestApp, token: &str, password: &str) -> Enrolled {
    let (authenticator, _) = start_enrolment(app, token, password).await;
    let confirmed = confirm(app, token, &authenticator).await;
    assert_eq!(confirmed.status(), 200, "enrolment confirmed");
    let confirmed: Value = confirmed.json().await.unwrap();
    Enrolled {
        recovery_codes: confirmed["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        access: confirmed["token"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        app: authenticator,
    }
}

pub async fn confirm(
    app: &TestApp,
    token: &str,
    authenticator: &Authenticator,
) -> reqwest::Response {
    let path = format!("/api/v1/auth/mfa/totp/{}/confirm", authenticator.factor_id);
    let code = authenticator.next_code().await;
    app.send_as(Method::POST, &path, token, json!({"code": code}))
        .await
}

/// The first step of a sign-in for a user with a factor: the `mfa_token`.
pub async fn challenge(app: &TestApp, email: &str, password: &str) -> String {
    let resp = app.login(email, password).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "no tokens yet: {body}");
    body["mfa_token"].as_str().unwrap().to_owned()
}

pub async fn verify(app: &TestApp, mfa_token: &str, answer: Value) -> reqwest::Response {
    let mut body = answer;
    body["mfa_token"] = json!(mfa_token);
    app.post_json("/api/v1/auth/mfa/verify", body).await
}

/// Both steps of a sign-in with the app's next code.
pub async fn sign_in(app: &TestApp, email: &str, password: &str, with: &Authenticator) -> Tokens {
    let mfa_token = challenge(app, email, password).await;
    let code = with.next_code().await;
    Tokens::read(verify(app, &mfa_token, json!({"code": code})).await).await
}

/// The claims of an access token, read without checking it (the server did).
pub fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
