//! The authorization request (`/oauth2/authorize`, OpenID Connect Core §3.1.2.1), read and
//! checked in the order RFC 6749 §4.1.2.1 demands: until the client and its redirect URI are
//! known good, a refusal is a page here (never a redirect: no open redirector); after, it goes
//! back to the client as `error=…`.
//!
//! A checked request travels through the sign-in, picker and consent pages as a [`Pending`]:
//! the request and when it arrived, MACed with a key every replica derives, so no page can
//! change what the client asked for.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::error::Refusal;
use crate::{
    service::oauth::{Client, client::OPENID},
    state::AppState,
};

/// How long a pending request may take to get through sign-in and consent.
const PENDING_SECS: i64 = 15 * 60;

/// The `acr` of a session that proved a second factor, and of one that did not.
pub const ACR_MFA: &str = "urn:dealergate:acr:mfa";
pub const ACR_PWD: &str = "urn:dealergate:acr:pwd";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// `acr_values` asked for [`ACR_MFA`]: a second factor is required.
    pub mfa: bool,
}

impl AuthRequest {
    pub fn prompts(&self, prompt: &str) -> bool {
        self.prompt.iter().any(|p| p == prompt)
    }
}

/// The query's parameters (the first of a repeated one), and the name of one that is
/// repeated, if any (RFC 6749 §3.1: a repeated parameter makes the request invalid).
pub fn parameters(query: &str) -> (HashMap<String, String>, Option<String>) {
    let mut params = HashMap::new();
    let mut repeated = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.contains_key(name.as_ref()) {
            repeated.get_or_insert_with(|| name.to_string());
        } else {
            params.insert(name.into_owned(), value.into_owned());
        }
    }
    (params, repeated)
}

/// Reads `params` for `client` (found by the caller from `client_id`): the redirect URI is
/// checked first, and anything wrong before that is a page, after it a redirect.
pub fn read(
    params: &HashMap<String, String>,
    repeated: Option<String>,
    client: &Client,
) -> Result<AuthRequest, Refusal> {
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let redirect_uri = get("redirect_uri").ok_or(Refusal::Page("redirect_uri is missing"))?;
    let ambiguous = matches!(repeated.as_deref(), Some("client_id" | "redirect_uri"));
    if ambiguous || !client.redirects_to(redirect_uri) {
        return Err(Refusal::Page(
            "redirect_uri is not registered for this client",
        ));
    }
    let back = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").map(str::to_owned),
        error,
        description,
    };
    if let Some(name) = repeated {
        return Err(back(
            "invalid_request",
            format!("parameter {name} is repeated"),
        ));
    }
    if get("request").is_some() {
        return Err(back(
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if get("request_uri").is_some() {
        return Err(back(
            "request_uri_not_supported",
            "request_uri is not supported".into(),
        ));
    }
    if get("response_type") != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "only response_type=code is supported".into(),
        ));
    }
    if get("response_mode").is_some_and(|mode| mode != "query") {
        return Err(back(
            "invalid_request",
            "only response_mode=query is supported".into(),
        ));
    }
    let scopes = read_scopes(get("scope"), client).map_err(|d| back("invalid_scope", d))?;
    let code_challenge = read_pkce(get("code_challenge"), get("code_challenge_method"), client)
        .map_err(|d| back("invalid_request", d))?;
    let prompt: Vec<String> = get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = prompt
        .iter()
        .find(|p| !["none", "login", "consent", "select_account"].contains(&p.as_str()))
    {
        return Err(back("invalid_request", format!("unknown prompt {unknown}")));
    }
    if prompt.len() > 1 && prompt.iter().any(|p| p == "none") {
        return Err(back("invalid_request", "prompt=none stands alone".into()));
    }
    let max_age =
        match get("max_age") {
            None => None,
            Some(raw) => Some(raw.parse::<i64>().ok().filter(|age| *age >= 0).ok_or_else(
                || {
                    back(
                        "invalid_request",
                        "max_age is not a number of seconds".into(),
                    )
                },
            )?),
        };
    let bounded = |name: &'static str| -> Result<Option<String>, Refusal> {
        match get(name) {
            Some(value) if value.len() > 512 => Err(back(
                "invalid_request",
                format!("{name} is longer than 512 characters"),
            )),
            value => Ok(value.map(str::to_owned)),
        }
    };
    Ok(AuthRequest {
        client_id: client.id,
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: bounded("state")?,
        nonce: bounded("nonce")?,
        code_challenge,
        prompt,
        max_age,
        login_hint: bounded("login_hint")?,
        mfa: get("acr_values").is_some_and(|acr| acr.split(' ').any(|a| a == ACR_MFA)),
    })
}

fn read_scopes(raw: Option<&str>, client: &Client) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        if !client.allows_scope(scope) {
            return Err(format!("scope {scope} is not allowed for this client"));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !scopes.iter().any(|s| s == OPENID) {
        return Err("scope must include openid".into());
    }
    Ok(scopes)
}

/// PKCE (RFC 7636): required of public clients, `S256` only (`plain` would hand the verifier
/// to whoever sees the request).
fn read_pkce(
    challenge: Option<&str>,
    method: Option<&str>,
    client: &Client,
) -> Result<Option<String>, String> {
    let Some(challenge) = challenge else {
        if !client.confidential {
            return Err("code_challenge is required (PKCE, S256) for a public client".into());
        }
        return Ok(None);
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256".into());
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err("code_challenge must be a base64url SHA-256 (43 characters)".into());
    }
    Ok(Some(challenge.to_owned()))
}

/// A checked request on its way through the pages, and when it arrived (what `prompt=login`
/// and `max_age` measure a sign-in against).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthRequest,
    /// Unix milliseconds: a sign-in in the same second as the request is told apart.
    pub received_at: i64,
    /// The membership chosen on the picker, once chosen.
    #[serde(default)]
    pub membership: Option<Uuid>,
    /// Who allowed it on the consent page (so `prompt=consent` is asked once — of that
    /// person: another signing in on this browser is asked again).
    #[serde(default)]
    pub consented_by: Option<Uuid>,
}

impl Pending {
    pub fn new(request: AuthRequest) -> Self {
        Self {
            request,
            received_at: chrono::Utc::now().timestamp_millis(),
            membership: None,
            consented_by: None,
        }
    }

    /// `<payload>.<mac>`, both base64url.
    pub fn seal(&self, state: &AppState) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mut mac = mac(state);
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The pending request `sealed` holds, if this server sealed it less than
    /// [`PENDING_SECS`] ago.
    pub fn open(state: &AppState, sealed: &str) -> Option<Self> {
        let (payload, tag) = sealed.split_once('.')?;
        let mut mac = mac(state);
        mac.update(payload.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(tag).ok()?).ok()?;
        let pending: Pending =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let age = chrono::Utc::now().timestamp_millis() - pending.received_at;
        (0..PENDING_SECS * 1000).contains(&age).then_some(pending)
    }
}

fn mac(state: &AppState) -> Hmac<Sha256> {
    let key = state.auth.rotation.derive(b"dealergate oidc pending v1");
    Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length")
}
