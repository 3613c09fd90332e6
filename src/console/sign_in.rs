//! Signing in at the console: email or phone and password, the second step, the dealership
//! picker, switching, signing out. A console session is an ordinary session (listed, ended by
//! logout-all and revocations, audited): the same `sign_in` service the API's `/auth` uses.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;

use super::{
    cookies::Jar,
    form::Errors,
    page::{self, Failure, Frame},
    session::{Visitor, cookie_value},
    visitor::Me,
};
use crate::{
    auth::mfa::Standing,
    domain::SignInName,
    entity::membership::Place,
    http::{mfa_answer, request_meta},
    service::{
        mfa::verify,
        sessions,
        sign_in::{self, Issued, SignedIn},
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    frame: Frame,
    login: String,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/code.html")]
pub(super) struct CodePage {
    pub frame: Frame,
    pub action: &'static str,
    pub mfa_token: String,
    pub back: String,
    pub errors: Errors,
}

#[derive(Template)]
#[template(path = "console/pick.html")]
struct PickPage {
    frame: Frame,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
    #[serde(default)]
    pub back: String,
}

impl CodeForm {
    /// The code or the recovery code, read as the API reads them (the same field errors).
    pub fn answer(&self) -> Result<crate::service::mfa::store::Answer, crate::error::AppError> {
        let filled = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        mfa_answer(filled(&self.code), filled(&self.recovery_code))
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    place: String,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    /// Prefilled (an OpenID client's `login_hint`).
    #[serde(default)]
    login: String,
    /// Sign in again although signed in (an OpenID client asked for a fresh sign-in).
    #[serde(default)]
    again: String,
}

/// The sign-in page (a signed-in visitor goes on to the overview, unless asked to sign in
/// again).
#[handler]
pub fn show(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
    poem::web::Query(q): poem::web::Query<ShowQuery>,
) -> Response {
    if visitor.caller.is_some() && q.again.is_empty() {
        return page::redirect(req, "/console");
    }
    let page = SignInPage {
        frame: Frame::anonymous(req, &state, "Sign in"),
        login: q.login.chars().take(320).collect(),
        errors: Errors::none(),
    };
    page::render(StatusCode::OK, &page)
}

/// The password step: signed in, or on to the second step.
#[handler]
pub async fn submit(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<SignInForm>,
) -> Result<Response, Failure> {
    let meta = request_meta(req, &state);
    let outcome = match SignInName::parse_username(&form.login) {
        Ok(name) => sign_in::login(&state, name, form.password, None, &meta).await,
        Err(invalid) => Err(crate::error::AppError::field("login", invalid.to_string())),
    };
    match outcome {
        Ok(SignedIn::Tokens(issued)) => Ok(signed_in(req, &state, &issued)),
        Ok(SignedIn::MfaRequired { mfa_token, .. }) => {
            Ok(code_page(req, &state, mfa_token, Errors::none()))
        }
        Err(err) => {
            let errors = Errors::shown(err, &[("email", "login"), ("phone", "login")])?;
            let frame = Frame::anonymous(req, &state, "Sign in");
            let page = SignInPage {
                frame,
                login: form.login,
                errors,
            };
            Ok(page::render(page.errors.status(), &page))
        }
    }
}

fn code_page(req: &Request, state: &AppState, mfa_token: String, errors: Errors) -> Response {
    let page = CodePage {
        frame: Frame::anonymous(req, state, "Second step"),
        action: "/console/sign-in/code",
        mfa_token,
        back: String::new(),
        errors,
    };
    page::render(page.errors.status(), &page)
}

/// The second step of the sign-in: a code from the app or a recovery code.
#[handler]
pub async fn code(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<CodeForm>,
) -> Result<Response, Failure> {
    let meta = request_meta(req, &state);
    let outcome = match form.answer() {
        Ok(answer) => verify::sign_in(&state, &form.mfa_token, answer, &meta).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(issued) => Ok(signed_in(req, &state, &issued)),
        Err(crate::error::AppError::Unauthenticated) => Ok(page::done(
            req,
            &state,
            "/console/sign-in",
            "That sign-in has expired: sign in again.",
        )),
        Err(err) => Ok(code_page(
            req,
            &state,
            form.mfa_token,
            Errors::shown(err, &[])?,
        )),
    }
}

/// Signed in (or switched): on to enrolment, the OpenID request that waits for this sign-in,
/// the picker or the overview.
pub(super) fn signed_in(req: &Request, state: &AppState, issued: &Issued) -> Response {
    let authorizing = Jar::Authorize.read(req, &state.settings.console).is_some();
    let next = if issued.standing == Standing::MustEnrol {
        "/console/enrol"
    } else if authorizing {
        super::oidc::RESUME
    } else if issued.memberships.len() > 1 {
        "/console/pick"
    } else {
        "/console"
    };
    with_session(page::redirect(req, next), state, issued)
}

/// A new session cookie (never the one the visitor came with: no fixation), and the
/// pre-session nonce dropped.
fn with_session(mut resp: Response, state: &AppState, issued: &Issued) -> Response {
    let console = &state.settings.console;
    for cookie in [
        Jar::Session.set(console, &cookie_value(issued), None),
        Jar::PreSession.clear(console),
    ] {
        if let Ok(value) = cookie.parse() {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    resp
}

/// The dealership picker after signing in (the same list as the top bar's switcher).
#[handler]
pub async fn pick(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    let frame = Frame::of(&state, req, &me, "Choose a dealership", "/console/pick").await?;
    Ok(page::render(StatusCode::OK, &PickPage { frame }))
}

/// Switch to another membership: tokens of that membership in the same sign-in.
#[handler]
pub async fn switch(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<SwitchForm>,
) -> Result<Response, Failure> {
    let place = parse_place(&form.place)
        .ok_or_else(|| crate::error::AppError::field("place", "is not one of your dealerships"))?;
    let issued = sign_in::switch(&state, &me, place, &me.meta).await?;
    let next = match issued.standing {
        Standing::MustEnrol => "/console/enrol",
        _ => "/console",
    };
    let notice = format!("You are now working in {}.", place_name(&issued));
    Ok(with_session(
        page::done(req, &state, next, &notice),
        &state,
        &issued,
    ))
}

fn place_name(issued: &Issued) -> String {
    issued
        .memberships
        .iter()
        .find(|m| m.user_id == issued.user.id)
        .and_then(|m| m.dealership_name.clone().or(m.group_name.clone()))
        .unwrap_or_else(|| "the platform".to_owned())
}

/// `d:<uuid>` or `g:<uuid>`, as the switcher sends a place.
fn parse_place(raw: &str) -> Option<Place> {
    let (kind, id) = raw.split_once(':')?;
    let id = uuid::Uuid::try_parse(id).ok()?;
    match kind {
        "d" => Some(Place::Dealership(id)),
        "g" => Some(Place::Group(id)),
        _ => None,
    }
}

/// Sign out: this sign-in ends (every dealership's family of it), as `/auth/logout` does.
#[handler]
pub async fn sign_out(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
) -> Result<Response, Failure> {
    if let Some(me) = &visitor.caller {
        let scope = state.sign_out_scope(me).await?;
        sessions::end_sign_ins(&scope, sessions::SignIns::Mine, "logout").await?;
        scope.commit().await?;
    }
    let mut resp = page::done(req, &state, "/console/sign-in", "You are signed out.");
    if let Ok(value) = Jar::Session.clear(&state.settings.console).parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(resp)
}
