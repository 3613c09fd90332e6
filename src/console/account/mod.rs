//! The caller's own account: profile, email, password and dealerships here; second factors
//! and sessions in [`security`]. Each form goes through the service the API's `/auth` routes
//! use, with the same field errors.

mod security;

use askama::Template;
use poem::{
    Request, Response, Route, get, handler,
    web::{Data, Form, Path},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    form::Errors,
    page::{self, Failure, Frame},
    visitor::Me,
};
use crate::{
    authz::{Action, Resource},
    domain::{Email, PersonName, Phone},
    error::AppError,
    http::fields,
    scope::Caller,
    service::{account, email_change, users::ProfileChange},
    state::AppState,
};

pub fn mount(routes: Route) -> Route {
    let routes = routes
        .at("/account", get(show))
        .at("/account/profile", poem::post(save_profile))
        .at("/account/password", poem::post(change_password))
        .at("/account/email", poem::post(change_email))
        .at("/account/leave/:dealership_id", poem::post(leave));
    security::mount(routes)
}

/// Which form of the page an error belongs to (each shows its own).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Profile,
    Email,
    Password,
    Dealerships,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    frame: Frame,
    first_name: String,
    last_name: String,
    phone: String,
    email: String,
    dealerships: Vec<(Uuid, String)>,
    failed: Option<Part>,
    errors: Errors,
}

impl AccountPage {
    /// The message above `part`'s form, if it failed.
    fn problem(&self, part: &Part) -> Option<String> {
        (self.failed.as_ref() == Some(part))
            .then(|| self.errors.general())
            .flatten()
    }

    /// The error beside `field` of `part`'s form, if it failed.
    fn error(&self, part: &Part, field: &str) -> Option<&str> {
        (self.failed.as_ref() == Some(part))
            .then(|| self.errors.of(field))
            .flatten()
    }
}

async fn account_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    failed: Option<(Part, Errors)>,
) -> Result<Response, Failure> {
    let grant = state.grant_own(me, Resource::Users, Action::Read)?;
    let profile = account::profile(state, &grant).await?;
    let frame = Frame::of(state, req, me, "My account", "/console/account").await?;
    let dealerships = profile
        .memberships
        .iter()
        .filter_map(|m| {
            Some((
                m.dealership_id?,
                m.dealership_name.clone().unwrap_or_default(),
            ))
        })
        .collect();
    let (failed, errors) = failed.map_or((None, Errors::none()), |(p, e)| (Some(p), e));
    let page = AccountPage {
        frame,
        first_name: profile.first_name,
        last_name: profile.last_name,
        phone: profile.phone.unwrap_or_default(),
        email: profile.email,
        dealerships,
        failed,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// The form of `part` failed: the page again with its errors, or a failure page.
async fn refused(
    state: &AppState,
    req: &Request,
    me: &Caller,
    part: Part,
    err: AppError,
) -> Result<Response, Failure> {
    let errors = Errors::shown(err, &[])?;
    account_page(state, req, me, Some((part, errors))).await
}

#[handler]
async fn show(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    account_page(&state, req, &me, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    phone: String,
}

impl ProfileForm {
    /// The API's rules for `PATCH /auth/me`: an empty phone clears it.
    fn parse(&self) -> Result<ProfileChange, AppError> {
        let (first_name, last_name, phone) = fields::check((
            ("first_name", PersonName::parse(&self.first_name).map(Some)),
            ("last_name", PersonName::parse(&self.last_name).map(Some)),
            (
                "phone",
                fields::clearable(Some(self.phone.as_str()), Phone::parse),
            ),
        ))?;
        Ok(ProfileChange {
            first_name,
            last_name,
            phone,
        })
    }
}

#[handler]
async fn save_profile(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<ProfileForm>,
) -> Result<Response, Failure> {
    let saved = match (
        state.grant_own(&me, Resource::Users, Action::Update),
        form.parse(),
    ) {
        (Ok(grant), Ok(change)) => account::update_me(&state, &grant, change).await.map(drop),
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match saved {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/account",
            "Your profile is saved.",
        )),
        Err(err) => refused(&state, req, &me, Part::Profile, err).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// A new password ends the account's other sessions (the service says which); this one goes on.
#[handler]
async fn change_password(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Failure> {
    let grant = state.grant_own(&me, Resource::Users, Action::Update)?;
    match account::change_password(&state, &grant, form.current_password, form.new_password).await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/account",
            "Your password is changed.",
        )),
        Err(err) => refused(&state, req, &me, Part::Password, err).await,
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    current_password: String,
}

#[handler]
async fn change_email(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<EmailForm>,
) -> Result<Response, Failure> {
    let asked = match (
        state.grant_own(&me, Resource::Users, Action::Update),
        fields::one("new_email", Email::parse(&form.new_email)),
    ) {
        (Ok(grant), Ok(email)) => {
            email_change::request(&state, &grant, email, form.current_password).await
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match asked {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/account",
            "A confirmation link has been sent to the new address.",
        )),
        Err(err) => refused(&state, req, &me, Part::Email, err).await,
    }
}

/// Leave one dealership (the API's rules: not the only one, not its last principal).
#[handler]
async fn leave(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(dealership_id): Path<Uuid>,
) -> Result<Response, Failure> {
    let grant = state.grant_own(&me, Resource::Users, Action::Delete)?;
    match account::leave(&state, &grant, dealership_id).await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/account",
            "You have left that dealership.",
        )),
        Err(err) => refused(&state, req, &me, Part::Dealerships, err).await,
    }
}
