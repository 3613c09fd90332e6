//! Cross-site request forgery: every unsafe console request carries a token bound to the
//! session (or, before sign-in, to the pre-session cookie), in the `_csrf` form field or the
//! `X-CSRF-Token` header htmx sends; and any `Origin` left on the request is refused (a
//! same-origin one is dropped before routing, `http::same_origin_needs_no_cors`, so what
//! remains is another site or `null`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use poem::{Request, http::Method};
use sha2::Sha256;

use crate::state::AppState;

const FIELD: &str = "_csrf";
const HEADER: &str = "x-csrf-token";

fn mac(state: &AppState, binding: &str) -> Hmac<Sha256> {
    let key = state.auth.rotation.derive(b"dealergate console csrf v1");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(binding.as_bytes());
    mac
}

/// The token of `binding` (a session id, or the pre-session nonce).
pub fn token(state: &AppState, binding: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(state, binding).finalize().into_bytes())
}

/// Whether `req` may change anything: safe methods always; others only without a foreign
/// `Origin` and with the token of `binding` (compared in constant time). The body is read
/// for the form field and put back for the handler.
pub async fn allows(req: &mut Request, state: &AppState, binding: Option<&str>) -> bool {
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
