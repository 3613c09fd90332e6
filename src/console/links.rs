//! What mailed links open: a new password (after asking for the link), an invitation accepted
//! (a new account, or one more dealership for an account that exists), an address verified,
//! an email change confirmed. A link's GET only shows a form: mail scanners that fetch links
//! must not use up a token; the POST does it, through the same services as the API.

use askama::Template;
use poem::{
    Request, Response, Route, get, handler,
    http::StatusCode,
    web::{Data, Form, Query},
};
use serde::Deserialize;

use super::{
    form::Errors,
    page::{self, Failure, Frame},
    sign_in::signed_in,
};
use crate::{
    domain::{Email, PersonName, Phone},
    error::AppError,
    http::{fields, request_meta},
    service::{
        email_change, email_verification,
        invitations::{join, signup},
        password_reset,
    },
    state::AppState,
};

pub fn mount(routes: Route) -> Route {
    routes
        .at("/forgot-password", get(forgot).post(ask_for_link))
        .at("/reset-password", get(new_password).post(set_password))
        .at("/accept-invitation", get(invitation).post(accept))
        .at("/accept-invitation/join", poem::post(join_with_password))
        .at("/verify-email", get(verify_email).post(verified))
        .at("/confirm-email", get(confirm_email).post(confirmed))
}

#[derive(Deserialize, Default)]
pub struct Token {
    #[serde(default)]
    token: String,
    #[serde(default)]
    join: Option<String>,
}

#[derive(Template)]
#[template(path = "console/forgot.html")]
struct ForgotPage {
    frame: Frame,
    email: String,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[handler]
fn forgot(req: &Request, state: Data<&AppState>) -> Response {
    let frame = Frame::anonymous(req, &state, "Forgot your password?");
    let page = ForgotPage {
        frame,
        email: String::new(),
        errors: Errors::none(),
    };
    page::render(StatusCode::OK, &page)
}

/// The same answer whether or not the address has an account (no enumeration).
#[handler]
async fn ask_for_link(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Failure> {
    let asked = match fields::one("email", Email::parse(&form.email)) {
        Ok(email) => password_reset::request(&state, email, &request_meta(req, &state)).await,
        Err(err) => Err(err),
    };
    if let Err(err) = asked {
        let frame = Frame::anonymous(req, &state, "Forgot your password?");
        let page = ForgotPage {
            frame,
            email: form.email,
            errors: Errors::shown(err, &[])?,
        };
        return Ok(page::render(page.errors.status(), &page));
    }
    let notice = "If this address belongs to an account, a reset link has been sent to it.";
    Ok(page::done(req, &state, "/console/sign-in", notice))
}

#[derive(Template)]
#[template(path = "console/new_password.html")]
struct NewPasswordPage {
    frame: Frame,
    token: String,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

#[handler]
fn new_password(req: &Request, state: Data<&AppState>, Query(q): Query<Token>) -> Response {
    let frame = Frame::anonymous(req, &state, "Choose a new password");
    let page = NewPasswordPage {
        frame,
        token: q.token,
        errors: Errors::none(),
    };
    page::render(StatusCode::OK, &page)
}

#[handler]
async fn set_password(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<NewPasswordForm>,
) -> Result<Response, Failure> {
    let meta = request_meta(req, &state);
    match password_reset::confirm(&state, &form.token, &form.new_password, &meta).await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/sign-in",
            "Your password is changed: sign in with it.",
        )),
        Err(err) => {
            let frame = Frame::anonymous(req, &state, "Choose a new password");
            let page = NewPasswordPage {
                frame,
                token: form.token,
                errors: Errors::shown(err, &[])?,
            };
            Ok(page::render(page.errors.status(), &page))
        }
    }
}

#[derive(Template)]
#[template(path = "console/accept.html")]
struct AcceptPage {
    frame: Frame,
    token: String,
    join: bool,
    first_name: String,
    last_name: String,
    phone: String,
    errors: Errors,
}

#[derive(Deserialize, Default)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

impl AcceptForm {
    /// What the new user chooses, read by the API's signup rules (every invalid field at once).
    fn parse(&self) -> Result<signup::Signup, AppError> {
        let phone = Some(self.phone.as_str()).filter(|p| !p.trim().is_empty());
        let (first_name, last_name, phone) = fields::check((
            ("first_name", PersonName::parse(&self.first_name)),
            ("last_name", PersonName::parse(&self.last_name)),
            ("phone", fields::optional(phone, Phone::parse)),
        ))?;
        Ok(signup::Signup {
            password: self.password.clone(),
            first_name,
            last_name,
            phone,
        })
    }
}

fn accept_page(
    req: &Request,
    state: &AppState,
    join: bool,
    form: AcceptForm,
    errors: Errors,
) -> Response {
    let page = AcceptPage {
        frame: Frame::anonymous(req, state, "Accept your invitation"),
        token: form.token,
        join,
        first_name: form.first_name,
        last_name: form.last_name,
        phone: form.phone,
        errors,
    };
    page::render(page.errors.status(), &page)
}

#[handler]
fn invitation(req: &Request, state: Data<&AppState>, Query(q): Query<Token>) -> Response {
    let form = AcceptForm {
        token: q.token,
        ..AcceptForm::default()
    };
    accept_page(req, &state, q.join.is_some(), form, Errors::none())
}

/// A new account from the invitation, signed in at once. An address that signs in already
/// is told to join with its password instead (the API's 409), on the same page.
#[handler]
async fn accept(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, Failure> {
    let meta = request_meta(req, &state);
    let outcome = match form.parse() {
        Ok(new) => signup::signup(&state, &form.token, new, &meta).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(issued) => Ok(signed_in(req, &state, &issued)),
        Err(AppError::Conflict(_)) => Ok(accept_page(req, &state, true, form, Errors::none())),
        Err(err) => Ok(accept_page(
            req,
            &state,
            false,
            AcceptForm {
                password: String::new(),
                ..form
            },
            Errors::shown(err, &[])?,
        )),
    }
}

/// One more dealership for the account the invited address signs in to, proven by its
/// password (throttled like a login).
#[handler]
async fn join_with_password(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, Failure> {
    let meta = request_meta(req, &state);
    match join::join(&state, &form.token, form.password.clone(), &meta).await {
        Ok(issued) => Ok(signed_in(req, &state, &issued)),
        Err(err) => Ok(accept_page(
            req,
            &state,
            true,
            form,
            Errors::shown(err, &[])?,
        )),
    }
}

#[derive(Template)]
#[template(path = "console/confirm_link.html")]
struct ConfirmLinkPage {
    frame: Frame,
    explanation: &'static str,
    action: &'static str,
    button: &'static str,
    token: String,
    errors: Errors,
}

/// The two links that confirm an address: verification and an email change.
#[derive(Clone, Copy)]
enum Confirming {
    Verification,
    EmailChange,
}

impl Confirming {
    fn page(self, req: &Request, state: &AppState, token: String, errors: Errors) -> Response {
        let (title, explanation, action, button) = match self {
            Confirming::Verification => (
                "Verify your email address",
                "Confirm that this address is yours.",
                "/console/verify-email",
                "Verify my address",
            ),
            Confirming::EmailChange => (
                "Confirm your new email address",
                "Confirm that you sign in with this address from now on.",
                "/console/confirm-email",
                "Use this address",
            ),
        };
        let frame = Frame::anonymous(req, state, title);
        let page = ConfirmLinkPage {
            frame,
            explanation,
            action,
            button,
            token,
            errors,
        };
        page::render(page.errors.status(), &page)
    }

    async fn confirm(
        self,
        req: &Request,
        state: &AppState,
        token: String,
    ) -> Result<Response, Failure> {
        let meta = request_meta(req, state);
        let done = match self {
            Confirming::Verification => email_verification::verify(state, &token, &meta).await,
            Confirming::EmailChange => email_change::confirm(state, &token, &meta).await,
        };
        match done {
            Ok(()) => Ok(page::done(
                req,
                state,
                "/console",
                "Your address is confirmed.",
            )),
            Err(err) => Ok(self.page(req, state, token, Errors::shown(err, &[])?)),
        }
    }
}

#[handler]
fn verify_email(req: &Request, state: Data<&AppState>, Query(q): Query<Token>) -> Response {
    Confirming::Verification.page(req, &state, q.token, Errors::none())
}

#[handler]
async fn verified(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<Token>,
) -> Result<Response, Failure> {
    Confirming::Verification
        .confirm(req, &state, form.token)
        .await
}

#[handler]
fn confirm_email(req: &Request, state: Data<&AppState>, Query(q): Query<Token>) -> Response {
    Confirming::EmailChange.page(req, &state, q.token, Errors::none())
}

#[handler]
async fn confirmed(
    req: &Request,
    state: Data<&AppState>,
    Form(form): Form<Token>,
) -> Result<Response, Failure> {
    Confirming::EmailChange
        .confirm(req, &state, form.token)
        .await
}
