//! Who is at the console: the session cookie → a [`Caller`], as the bearer scheme makes one
//! for the API (the same token check, so a revoked session is refused on every replica at
//! once). The cookie holds a real session's access and refresh tokens; the access token is
//! renewed through the ordinary refresh (rotation, reuse detection, audit) once it is a
//! minute old, so the last renewal dates the last use and an idle session can be told.

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, header},
};

use super::{cookies::Jar, csrf, page};
use crate::{
    auth::{jwt, principal::authenticate},
    http::request_meta,
    scope::Caller,
    service::sign_in::{self, Issued},
    state::AppState,
};

/// Renewed once older than this: often enough to date the last use within a minute.
const RENEW_AFTER_SECS: i64 = 60;

/// What every console handler knows about the browser: the caller (if signed in) and the
/// CSRF token its forms carry.
#[derive(Clone)]
pub struct Visitor {
    pub caller: Option<Caller>,
    pub csrf: String,
    /// The session cookie's value in force after this request's renewal (if any): what a
    /// handler that replaces only the access token builds on.
    pub cookie: Option<String>,
}

/// The session cookie's value for freshly issued tokens.
pub fn cookie_value(issued: &Issued) -> String {
    format!("{}~{}", issued.access_token, issued.refresh_token.expose())
}

/// The middleware around every console route: resolves the visitor, refuses a forged unsafe
/// request, and sets whatever cookies the resolution renewed (before the handler's own, so a
/// sign-in or sign-out answered by the handler wins).
pub async fn attend<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let Some(state) = req.data::<AppState>().cloned() else {
        return Ok(page::bare_error(500, "The console is not set up."));
    };
    let console = &state.settings.console;
    let mut cookies = Vec::new();
    let (caller, cookie) = match Jar::Session.read(&req, console).map(str::to_owned) {
        Some(value) => match resume(&state, &req, &value).await {
            Resumed::Current(caller) => (Some(*caller), Some(value)),
            Resumed::Renewed(caller, value) => {
                cookies.push(Jar::Session.set(console, &value, None));
                (Some(*caller), Some(value))
            }
            Resumed::Gone => {
                cookies.push(Jar::Session.clear(console));
                (None, None)
            }
        },
        None => (None, None),
    };
    // a notice is shown once: by the page this request renders, if any
    if Jar::Flash.read(&req, console).is_some() {
        cookies.push(Jar::Flash.clear(console));
    }
    let binding = match &caller {
        Some(caller) => Some(csrf::Binding::Session(caller.session_id)),
        None => Jar::PreSession
            .read(&req, console)
            .and_then(csrf::Binding::pre_session),
    };
    if !csrf::allows(&mut req, &state, binding.as_ref()).await {
        return Ok(page::forged(&cookies));
    }
    let binding = binding.unwrap_or_else(|| {
        let (binding, nonce) = csrf::Binding::new_pre_session();
        cookies.push(Jar::PreSession.set(console, &nonce, None));
        binding
    });
    let csrf = csrf::token(&state, &binding);
    req.extensions_mut().insert(Visitor {
        caller,
        csrf,
        cookie,
    });
    let waiting = Jar::Authorize
        .read(&req, console)
        .and_then(|sealed| crate::oidc::request::Pending::open(&state, sealed));
    let mut resp = match next.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    // a page on the way of an OpenID request may send the browser on to its client
    if let Some(pending) = waiting {
        crate::http::allow_form_target(&mut resp, &pending.request.redirect_uri);
    }
    prepend_cookies(&mut resp, cookies);
    Ok(resp)
}

fn prepend_cookies(resp: &mut Response, ours: Vec<String>) {
    let headers = resp.headers_mut();
    let theirs: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    let ours = ours
        .into_iter()
        .filter_map(|c| HeaderValue::from_str(&c).ok());
    for value in ours.chain(theirs) {
        headers.append(header::SET_COOKIE, value);
    }
}

enum Resumed {
    Current(Box<Caller>),
    Renewed(Box<Caller>, String),
    Gone,
}

async fn resume(state: &AppState, req: &Request, value: &str) -> Resumed {
    let Some((access, refresh)) = value.split_once('~') else {
        return Resumed::Gone;
    };
    let auth = &state.settings.auth;
    let Ok(claims) = jwt::verify_even_expired(&state.auth.keys, auth, access) else {
        return Resumed::Gone;
    };
    let now = chrono::Utc::now().timestamp();
    let meta = request_meta(req, state);
    if now - claims.iat > state.settings.console.idle_timeout_secs as i64 {
        end_idle(state, refresh, meta);
        return Resumed::Gone;
    }
    // renewed at half its life at the latest, however short access tokens are configured
    let renew_after = RENEW_AFTER_SECS.min(auth.access_token_ttl_secs as i64 / 2);
    if now - claims.iat < renew_after {
        return match authenticate(&state.auth, auth, &state.db, access).await {
            // the console is for people: a service account's key is no session of it
            Ok(principal) if principal.service_account.is_none() => {
                Resumed::Current(Box::new(Caller { principal, meta }))
            }
            _ => Resumed::Gone,
        };
    }
    let Ok(issued) = sign_in::refresh(state, refresh, None, &meta).await else {
        return Resumed::Gone;
    };
    match authenticate(&state.auth, auth, &state.db, &issued.access_token).await {
        Ok(principal) => {
            Resumed::Renewed(Box::new(Caller { principal, meta }), cookie_value(&issued))
        }
        Err(_) => Resumed::Gone,
    }
}

/// An idle console session ends: its refresh token (the cookie's) is revoked, so nothing
/// can renew it, here or through the API.
fn end_idle(state: &AppState, refresh: &str, meta: crate::scope::RequestMeta) {
    let state2 = state.clone();
    let refresh = refresh.to_owned();
    state
        .after_answer
        .spawn("ending an idle console session", async move {
            sign_in::end_by_refresh_token(&state2, &refresh, &meta, "console_idle").await
        });
}
