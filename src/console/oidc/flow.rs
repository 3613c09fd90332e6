//! What an authorization request needs next, given the browser's console session: the
//! decisions of OpenID Connect Core §3.1.2.3–§3.1.2.5 in the order they are taken.

use chrono::{DateTime, Utc};
use poem::{
    Request, Response,
    http::{StatusCode, header},
};
use uuid::Uuid;

use super::{
    RESUME,
    authorize::{ConsentPage, PickPage, answer_refusal},
};
use crate::{
    auth::{jwt, mfa::Standing},
    console::{
        cookies::Jar,
        page::{self, Failure, Frame},
        session::Visitor,
    },
    entity::membership::Summary,
    error::AppError,
    oidc::{
        error::{Refusal, with_query},
        request::{AuthRequest, Pending},
    },
    scope::Caller,
    service::{
        oauth::{Client, codes, consents, grants},
        sessions, users,
    },
    state::AppState,
    tenancy::Scope,
};

/// The active client `id`.
pub async fn client(state: &AppState, id: Uuid) -> Result<Option<Client>, AppError> {
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let client = Client::find(&tx, id).await?;
    tx.commit().await?;
    Ok(client)
}

/// Back to the client with `error`.
pub fn back(request: &AuthRequest, error: &'static str, description: &str) -> Refusal {
    Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
        description: description.to_owned(),
    }
}

/// What the session knows of the sign-in: which, when, how.
struct SignIn {
    id: Uuid,
    auth_time: DateTime<Utc>,
    otp: bool,
    /// The person's memberships the client may be used in.
    usable: Vec<Summary>,
}

async fn sign_in_of(state: &AppState, me: &Caller, client: &Client) -> Result<SignIn, AppError> {
    let tx = state.db.begin_reading(me.scope()).await?;
    let session = sessions::find(&tx, me.session_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let all = users::memberships_of(&tx, me.person_id).await?;
    let usable = grants::visible(&tx, client, &all).await?;
    tx.commit().await?;
    // the password's time: neither a switch nor a step-up is a sign-in (`prompt=login`)
    let authenticated = session.authenticated_at.unwrap_or(session.created_at);
    Ok(SignIn {
        id: session.sign_in_id,
        auth_time: authenticated,
        otp: session.mfa_at.is_some(),
        usable,
    })
}

/// Goes as far as it can: a code back to the client, a refusal back to it, or the page (or the
/// sign-in) the person must get through first.
pub async fn proceed(
    req: &Request,
    state: &AppState,
    visitor: &Visitor,
    client: &Client,
    pending: Pending,
) -> Result<Response, Failure> {
    let r = &pending.request;
    let silent = r.prompts("none");
    let Some(me) = &visitor.caller else {
        return Ok(sign_in(req, state, &pending, silent, false));
    };
    let signed = sign_in_of(state, me, client).await?;
    let fresh = signed.auth_time.timestamp_millis() >= pending.received_at;
    let age = Utc::now().timestamp() - signed.auth_time.timestamp();
    // a sign-in made for this very request satisfies any max_age (even 0)
    if !fresh && (r.prompts("login") || r.max_age.is_some_and(|max| age > max)) {
        return Ok(sign_in(req, state, &pending, silent, true));
    }
    if r.mfa && !signed.otp {
        return Ok(step_up(req, state, me, &pending, silent));
    }
    if signed.usable.is_empty() {
        let why = "none of your dealerships may use this app";
        return Ok(answer_refusal(req, state, back(r, "access_denied", why)));
    }
    let Some(chosen) = choice(&pending, &signed, me, fresh) else {
        if silent {
            let why = "the person must choose a dealership";
            return Ok(answer_refusal(
                req,
                state,
                back(r, "account_selection_required", why),
            ));
        }
        return pick(req, state, me, client, &pending, &signed.usable).await;
    };
    if !client.first_party && pending.consented_by != Some(me.person_id) {
        let tx = state.db.begin_reading(me.scope()).await?;
        let covered = consents::covers(&tx, me.person_id, client.id, &r.scopes).await?;
        tx.commit().await?;
        if r.prompts("consent") || !covered {
            if silent {
                let why = "the person has not consented to this app";
                return Ok(answer_refusal(req, state, back(r, "consent_required", why)));
            }
            return consent(req, state, me, client, pending, chosen).await;
        }
    }
    let code = issue(state, me, &pending, &signed, chosen).await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &r.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &state.oidc.issuer));
    Ok(done(state, &with_query(&r.redirect_uri, &pairs)))
}

/// The membership the code is for, if it is settled: the one chosen on the picker; else, unless
/// the person just signed in or the client asks to choose, the one the console is working in
/// (or the only one the client may use).
fn choice(pending: &Pending, sign_in: &SignIn, me: &Caller, fresh: bool) -> Option<Uuid> {
    let usable = |id: Uuid| sign_in.usable.iter().any(|m| m.user_id == id);
    if let Some(chosen) = pending.membership.filter(|m| usable(*m)) {
        return Some(chosen);
    }
    let choosing = fresh || pending.request.prompts("select_account");
    match sign_in.usable.as_slice() {
        [only] => Some(only.user_id),
        _ if choosing => None,
        _ => Some(me.user_id).filter(|m| usable(*m)),
    }
}

async fn issue(
    state: &AppState,
    me: &Caller,
    pending: &Pending,
    sign_in: &SignIn,
    chosen: Uuid,
) -> Result<String, AppError> {
    let r = &pending.request;
    let mut amr = vec![jwt::PWD.to_owned()];
    if sign_in.otp {
        amr.push(jwt::OTP.to_owned());
    }
    let new = codes::NewCode {
        client_id: r.client_id,
        redirect_uri: &r.redirect_uri,
        code_challenge: r.code_challenge.as_deref(),
        nonce: r.nonce.as_deref(),
        scopes: &r.scopes,
        sign_in_id: sign_in.id,
        user_id: chosen,
        auth_time: sign_in.auth_time,
        amr,
    };
    let tx = state.db.begin(me.scope()).await?;
    let code = codes::issue(&tx, new, state.settings.oidc.code_ttl_secs).await?;
    tx.commit().await?;
    Ok(code)
}

/// To the sign-in page (again, if `again`), the request waiting in the cookie; with
/// `prompt=none`, `login_required` instead.
fn sign_in(
    req: &Request,
    state: &AppState,
    pending: &Pending,
    silent: bool,
    again: bool,
) -> Response {
    let r = &pending.request;
    if silent {
        let why = "the person is not signed in (or not recently enough)";
        return answer_refusal(req, state, back(r, "login_required", why));
    }
    let mut to = String::from("/console/sign-in");
    let hint = r.login_hint.as_deref().unwrap_or("");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("login", hint)
        .append_pair("again", if again { "1" } else { "" })
        .finish();
    to.push('?');
    to.push_str(&query);
    waiting(state, page::redirect(req, &to), pending)
}

/// A second factor the session has not proven: the step-up page (it returns here); for a
/// person with none, the client is told the requirement cannot be met.
fn step_up(
    req: &Request,
    state: &AppState,
    me: &Caller,
    pending: &Pending,
    silent: bool,
) -> Response {
    let r = &pending.request;
    if me.principal.mfa != Standing::Enrolled {
        let why = "a second factor is required and this account has none";
        return answer_refusal(
            req,
            state,
            back(r, "unmet_authentication_requirements", why),
        );
    }
    if silent {
        let why = "a second factor must be proven";
        return answer_refusal(req, state, back(r, "interaction_required", why));
    }
    let to = format!("/console/step-up?back={RESUME}");
    waiting(state, page::redirect(req, &to), pending)
}

async fn pick(
    req: &Request,
    state: &AppState,
    me: &Caller,
    client: &Client,
    pending: &Pending,
    usable: &[Summary],
) -> Result<Response, Failure> {
    let choices = usable
        .iter()
        .map(|m| {
            let place = m.dealership_name.clone().or(m.group_name.clone());
            let label = format!(
                "{} — {}",
                place.unwrap_or_else(|| "the platform".into()),
                page::role_label(m.role.as_str())
            );
            (m.user_id, label)
        })
        .collect();
    let page = PickPage {
        frame: Frame::of(state, req, me, "Choose a dealership", "/oauth2/authorize").await?,
        client: client.name.clone(),
        sealed: pending.seal(state),
        choices,
    };
    Ok(waiting(state, page::render(StatusCode::OK, &page), pending))
}

async fn consent(
    req: &Request,
    state: &AppState,
    me: &Caller,
    client: &Client,
    mut pending: Pending,
    chosen: Uuid,
) -> Result<Response, Failure> {
    pending.membership = Some(chosen);
    let scopes = pending
        .request
        .scopes
        .iter()
        .filter_map(|s| scope_label(s))
        .collect();
    let page = ConsentPage {
        frame: Frame::of(state, req, me, "Allow access", "/oauth2/authorize").await?,
        client: client.name.clone(),
        sealed: pending.seal(state),
        scopes,
    };
    Ok(waiting(
        state,
        page::render(StatusCode::OK, &page),
        &pending,
    ))
}

fn scope_label(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Know who you are",
        "profile" => "See your name",
        "email" => "See your email address",
        "phone" => "See your phone number",
        "offline_access" => "Stay signed in while you are signed in here",
        "dealership" => {
            "See the dealership you work in, your role there, and your dealerships it may be used in"
        }
        _ => return None,
    })
}

/// `resp`, with the request waiting in the cookie and the page allowed to send the browser on
/// to the client's redirect URI afterwards (`form-action`: Chromium applies it to where a
/// form's answer redirects).
fn waiting(state: &AppState, mut resp: Response, pending: &Pending) -> Response {
    let console = &state.settings.console;
    let cookie = Jar::Authorize.set(console, &pending.seal(state), Some(15 * 60));
    if let Ok(value) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    crate::http::allow_form_target(&mut resp, &pending.request.redirect_uri);
    resp
}

/// On to the client (a code or an error), the waiting request done with.
pub fn done(state: &AppState, to: &str) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .finish();
    if let Ok(value) = Jar::Authorize.clear(&state.settings.console).parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}
