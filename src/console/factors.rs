//! Second factors at the console: enrolling an authenticator app (the QR code the API makes,
//! the first code, the recovery codes shown once) — owed at sign-in where a dealership or role
//! requires it, or added from the account page — and the step-up prompt before a sensitive
//! change.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    cookies::Jar,
    form::Errors,
    page::{self, Failure, Frame},
    sign_in::{CodeForm, CodePage},
    visitor::{Enrolling, Me},
};
use crate::{
    auth::mfa::Standing,
    error::AppError,
    scope::Caller,
    service::mfa::{enrol, verify},
    state::AppState,
};

pub enum EnrolStep {
    Password,
    Scan {
        factor_id: Uuid,
        qr_svg: String,
        secret: String,
    },
    Codes {
        codes: Vec<String>,
        /// Where the person goes on to: the console, or the app whose sign-in waits.
        next: &'static str,
    },
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage {
    frame: Frame,
    reason: &'static str,
    step: EnrolStep,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    factor_id: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

async fn enrol_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    step: EnrolStep,
    errors: Errors,
) -> Result<Response, Failure> {
    let frame = Frame::of(state, req, me, "Authenticator app", "/console/account").await?;
    let reason = match me.mfa {
        Standing::MustEnrol => "Your dealership requires a second factor before you go on.",
        _ => "Add an authenticator app to your account.",
    };
    let page = EnrolPage {
        frame,
        reason,
        step,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

#[handler]
pub async fn start_form(
    req: &Request,
    state: Data<&AppState>,
    Enrolling(me): Enrolling,
) -> Result<Response, Failure> {
    enrol_page(&state, req, &me, EnrolStep::Password, Errors::none()).await
}

/// The password again, then a new secret and its QR code.
#[handler]
pub async fn start(
    req: &Request,
    state: Data<&AppState>,
    Enrolling(me): Enrolling,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Failure> {
    let (step, errors) = match enrol::start(&state, &me, form.current_password).await {
        Ok(e) => (
            EnrolStep::Scan {
                factor_id: e.factor_id,
                qr_svg: svg_only(&e.qr_svg),
                secret: e.secret,
            },
            Errors::none(),
        ),
        Err(err) => (EnrolStep::Password, Errors::shown(err, &[])?),
    };
    enrol_page(&state, req, &me, step, errors).await
}

/// The QR code as an inline `<svg>` element (the XML prolog has no place in HTML).
fn svg_only(svg: &str) -> String {
    svg.find("<svg")
        .map_or(String::new(), |at| svg[at..].to_owned())
}

/// The first code activates the factor; the recovery codes are shown, once.
#[handler]
pub async fn confirm(
    req: &Request,
    state: Data<&AppState>,
    Enrolling(me): Enrolling,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, Failure> {
    let factor_id = Uuid::try_parse(&form.factor_id).map_err(|_| AppError::NotFound("factor"))?;
    match enrol::confirm(&state, &me, factor_id, form.code.trim().to_owned()).await {
        Ok(done) => {
            let resp = enrol_page(
                &state,
                req,
                &me,
                EnrolStep::Codes {
                    codes: done.recovery_codes,
                    next: match super::cookies::Jar::Authorize.read(req, &state.settings.console) {
                        Some(_) => super::oidc::RESUME,
                        None => "/console",
                    },
                },
                Errors::none(),
            )
            .await?;
            Ok(with_access_token(resp, req, &state, &done.access_token))
        }
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            let step = EnrolStep::Scan {
                factor_id,
                qr_svg: String::new(),
                secret: form.secret,
            };
            enrol_page(&state, req, &me, step, errors).await
        }
    }
}

/// The session cookie with a new access token of the same session (its refresh token kept).
fn with_access_token(
    mut resp: Response,
    req: &Request,
    state: &AppState,
    access: &str,
) -> Response {
    let console = &state.settings.console;
    // the refresh token in force: the one this request's renewal made, if it made one
    let refresh = req
        .extensions()
        .get::<super::session::Visitor>()
        .and_then(|v| v.cookie.as_deref())
        .and_then(|v| v.split_once('~'))
        .map(|(_, refresh)| refresh.to_owned());
    if let Some(refresh) = refresh
        && let Ok(value) = Jar::Session
            .set(console, &format!("{access}~{refresh}"), None)
            .parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}

#[derive(Deserialize)]
pub struct Back {
    #[serde(default)]
    back: Option<String>,
}

/// Only a console path is returned to.
fn back_to(back: Option<&str>, req: &Request) -> String {
    let referer = req
        .header("referer")
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| u.path().to_owned());
    back.map(str::to_owned)
        .or(referer)
        .filter(|p| {
            let resumes = p == crate::console::oidc::RESUME;
            (p.starts_with("/console") || resumes)
                && !p.starts_with("/console/step-up")
                && !p.contains("//")
        })
        .unwrap_or_else(|| "/console".to_owned())
}

/// The step-up prompt: a sensitive change needs a recent second factor.
#[handler]
pub async fn step_up_form(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    poem::web::Query(q): poem::web::Query<Back>,
) -> Result<Response, Failure> {
    let frame = Frame::of(&state, req, &me, "Confirm it is you", "/console/step-up").await?;
    let page = CodePage {
        frame,
        action: "/console/step-up",
        mfa_token: String::new(),
        back: back_to(q.back.as_deref(), req),
        errors: Errors::none(),
    };
    Ok(page::render(StatusCode::OK, &page))
}

#[handler]
pub async fn step_up(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<CodeForm>,
) -> Result<Response, Failure> {
    let back = back_to(Some(&form.back), req);
    let outcome = match form.answer() {
        Ok(answer) => verify::step_up(&state, &me, answer).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(access) => Ok(with_access_token(
            page::done(req, &state, &back, "Confirmed: now do it again."),
            req,
            &state,
            &access,
        )),
        Err(err) => {
            let frame =
                Frame::of(&state, req, &me, "Confirm it is you", "/console/step-up").await?;
            let page = CodePage {
                frame,
                action: "/console/step-up",
                mfa_token: String::new(),
                back,
                errors: Errors::shown(err, &[])?,
            };
            Ok(page::render(page.errors.status(), &page))
        }
    }
}
