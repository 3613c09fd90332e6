//! Cross-site request forgery: every unsafe console request carries a token bound to the
//! session (or, before sign-in, to the pre-session cookie), in the `_csrf` form field or the
//! `X-CSRF-Token` header htmx sends; and any `Origin` left on the request is refused (a
//! same-origin one is dropped before routing, `http::same_origin_needs_no_cors`, so what
//! remains is another site or `null`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use poem::{Request, http::Method};
use sha2::Sha256;
use uuid::Uuid;

use crate::state::AppState;

const FIELD: &str = "_csrf";
const HEADER: &str = "x-csrf-token";

/// What a token is bound to: a session, or (before sign-in) the pre-session nonce. Each kind
/// is its own domain, so a nonce chosen equal to a session id does not yield that session's
/// token.
pub enum Binding {
    Session(Uuid),
    PreSession(String),
}

impl Binding {
    /// A pre-session cookie's nonce, if it is one this server could have made (32 hex digits).
    pub fn pre_session(nonce: &str) -> Option<Self> {
        let ours = nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
        ours.then(|| Binding::PreSession(nonce.to_owned()))
    }

    /// A new nonce, and its binding.
    pub fn new_pre_session() -> (Self, String) {
        let nonce = Uuid::new_v4().simple().to_string();
        (Binding::PreSession(nonce.clone()), nonce)
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Binding::Session(id) => format!("sid:{id}").into_bytes(),
            Binding::PreSession(nonce) => format!("pre:{nonce}").into_bytes(),
        }
    }
}

fn mac(state: &AppState, binding: &Binding) -> Hmac<Sha256> {
    let key = state.auth.rotation.derive(b"dealergate console csrf v1");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(&binding.bytes());
    mac
}

/// The token of `binding`.
pub fn token(state: &AppState, binding: &Binding) -> String {
    URL_SAFE_NO_PAD.encode(mac(state, binding).finalize().into_bytes())
}

/// Whether `req` may change anything: safe methods always; others only without a foreign
/// `Origin` and with the token of `binding` (compared in constant time). The body is read
/// for the form field and put back for the handler.
pub async fn allows(req: &mut Request, state: &AppState, binding: Option<&Binding>) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if req.header("origin").is_some() || req.header("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    let Some(binding) = binding else {
        return false;
    };
    let presented = match req.header(HEADER) {
        Some(token) => Some(token.to_owned()),
        None => form_field(req).await,
    };
    let Some(presented) = presented.and_then(|t| URL_SAFE_NO_PAD.decode(t.trim()).ok()) else {
        return false;
    };
    mac(state, binding).verify_slice(&presented).is_ok()
}

async fn form_field(req: &mut Request) -> Option<String> {
    let body = req.take_body().into_bytes().await.ok()?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned());
    req.set_body(body);
    token
}
