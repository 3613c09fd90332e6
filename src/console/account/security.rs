//! The caller's second factors (list, remove one, new recovery codes; adding one is the
//! enrolment of [`super::super::factors`]) and sessions (end one, end all others).

use askama::Template;
use poem::{
    Request, Response, Route, get, handler,
    http::StatusCode,
    web::{Data, Form, Path},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame},
        visitor::Me,
    },
    error::AppError,
    http::mfa_answer,
    scope::Caller,
    service::{
        mfa::{enrol, store::Factor},
        oauth::consents,
        sessions::{self, OwnSession, SignIns},
    },
    state::AppState,
};

pub fn mount(routes: Route) -> Route {
    routes
        .at("/account/factors", get(show_factors).post(change_factors))
        .at("/account/sessions", get(own_sessions))
        .at("/account/sessions/:id/end", poem::post(end_one))
        .at("/account/sessions/end-others", poem::post(end_others))
        .at("/account/apps/:id/revoke", poem::post(revoke_app))
}

#[derive(Template)]
#[template(path = "console/factors.html")]
struct FactorsPage {
    frame: Frame,
    factors: Vec<Factor>,
    remaining: i64,
    /// New recovery codes, shown once.
    codes: Vec<String>,
    errors: Errors,
}

async fn factors_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    codes: Vec<String>,
    errors: Errors,
) -> Result<Response, Failure> {
    let status = enrol::status(state, me).await?;
    let frame = Frame::of(state, req, me, "Second factors", "/console/account").await?;
    let factors = status
        .factors
        .into_iter()
        .filter(|f| f.confirmed_at.is_some())
        .collect();
    let page = FactorsPage {
        frame,
        factors,
        remaining: status.recovery_codes_remaining,
        codes,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

#[handler]
async fn show_factors(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
) -> Result<Response, Failure> {
    factors_page(&state, req, &me, Vec::new(), Errors::none()).await
}

#[derive(Deserialize)]
pub struct ProtectedForm {
    /// `codes`, or the id of the factor to remove.
    #[serde(default)]
    what: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
}

impl ProtectedForm {
    fn proof(&self) -> Result<crate::service::mfa::store::Answer, AppError> {
        let filled = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        mfa_answer(filled(&self.code), filled(&self.recovery_code))
    }
}

/// Remove an app, or replace the recovery codes: the password and a code either way.
#[handler]
async fn change_factors(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<ProtectedForm>,
) -> Result<Response, Failure> {
    let proof = match form.proof() {
        Ok(proof) => (form.current_password.clone(), proof),
        Err(err) => {
            return factors_page(&state, req, &me, Vec::new(), Errors::shown(err, &[])?).await;
        }
    };
    let done = match Uuid::try_parse(&form.what) {
        Ok(id) => enrol::remove(&state, &me, id, proof)
            .await
            .map(|()| Vec::new()),
        Err(_) => enrol::regenerate_codes(&state, &me, proof).await,
    };
    match done {
        Ok(codes) if codes.is_empty() => Ok(page::done(
            req,
            &state,
            "/console/account/factors",
            "The app is removed.",
        )),
        Ok(codes) => factors_page(&state, req, &me, codes, Errors::none()).await,
        Err(err) => factors_page(&state, req, &me, Vec::new(), Errors::shown(err, &[])?).await,
    }
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    frame: Frame,
    sessions: Vec<OwnSession>,
    current: Uuid,
    /// The apps (OpenID clients) the person allowed.
    apps: Vec<consents::Consent>,
}

#[handler]
async fn own_sessions(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
) -> Result<Response, Failure> {
    let scope = state
        .begin_own(&me, Resource::Sessions, Action::List)
        .await?;
    let live = sessions::list_own(&scope).await?;
    let apps = consents::list_own(&scope).await?;
    scope.commit().await?;
    let frame = Frame::of(&state, req, &me, "My sessions", "/console/account").await?;
    let page = SessionsPage {
        frame,
        sessions: live,
        current: me.session_id,
        apps,
    };
    Ok(page::render(StatusCode::OK, &page))
}

#[handler]
async fn end_one(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<Uuid>,
) -> Result<Response, Failure> {
    let scope = state
        .begin_own(&me, Resource::Sessions, Action::Delete)
        .await?;
    sessions::end_own(&scope, id, "ended_by_user").await?;
    scope.commit().await?;
    Ok(page::done(
        req,
        &state,
        "/console/account/sessions",
        "That session is ended.",
    ))
}

#[handler]
async fn end_others(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
) -> Result<Response, Failure> {
    let scope = state
        .begin_own(&me, Resource::Sessions, Action::Delete)
        .await?;
    let ended = sessions::end_sign_ins(&scope, SignIns::Others, "ended_by_user").await?;
    scope.commit().await?;
    let notice = format!("{ended} other session(s) ended.");
    Ok(page::done(
        req,
        &state,
        "/console/account/sessions",
        &notice,
    ))
}

/// Withdraws the consent to an app: its tokens stop working at once.
#[handler]
async fn revoke_app(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<Uuid>,
) -> Result<Response, Failure> {
    let scope = state
        .begin_own(&me, Resource::Sessions, Action::Delete)
        .await?;
    consents::revoke_own(&scope, id).await?;
    scope.commit().await?;
    let notice = "The app no longer has access; it signed out everywhere.";
    Ok(page::done(req, &state, "/console/account/sessions", notice))
}
