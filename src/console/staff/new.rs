//! `GET/POST /console/staff/new`: a new person, as `POST /api/v1/users` makes one — or, for
//! an address that signs in elsewhere, the invitation the API sends instead.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{Choice, dealership_choices, given, role_choices};
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame},
        visitor::Me,
    },
    entity::user,
    error::AppError,
    http::users::CreateUser,
    scope::Caller,
    service::users::{manage, people},
    state::AppState,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    pub role: String,
    pub dealership_id: String,
}

impl NewForm {
    /// The API's body; a dealership that is not an id names none there is (404).
    fn body(&self) -> Result<CreateUser, AppError> {
        let dealership_id = given(&self.dealership_id)
            .map(|d| Uuid::try_parse(&d).map_err(|_| AppError::NotFound("dealership")))
            .transpose()?;
        Ok(CreateUser {
            email: self.email.clone(),
            password: self.password.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            phone: given(&self.phone),
            role: self.role.clone(),
            dealership_id,
        })
    }
}

#[derive(Template)]
#[template(path = "console/staff_new.html")]
struct NewPage {
    frame: Frame,
    form: NewForm,
    roles: Vec<Choice>,
    dealerships: Vec<Choice>,
    errors: Errors,
}

#[handler]
pub async fn show(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    state.grant(&me, Resource::Users, Action::Create)?;
    let form = NewForm {
        role: "agent".to_owned(),
        ..NewForm::default()
    };
    render(&state, req, &me, form, Errors::none()).await
}

/// Creates the person (their verification link is mailed), or invites an address that signs
/// in elsewhere; the form again with the API's errors otherwise.
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<NewForm>,
) -> Result<Response, Failure> {
    let outcome = async {
        let (new, asked) = form.body()?.parse()?;
        let grant = state.grant(&me, Resource::Users, Action::Create)?;
        manage::create(&state, &grant, new, asked).await
    };
    match outcome.await {
        Ok(user) => Ok(created(req, &state, &user)),
        Err(err) => render(&state, req, &me, form, Errors::shown(err, &[])?).await,
    }
}

/// Where a new person is shown, saying what happened: their page, or the invitations when
/// the address signs in elsewhere and was invited instead.
fn created(req: &Request, state: &AppState, user: &user::Model) -> Response {
    if people::is_invitation(user) {
        let notice = format!(
            "{} already signs in elsewhere: nothing was created, and an invitation to join was \
             mailed to them instead.",
            user.email
        );
        return page::done(req, state, "/console/invitations", &notice);
    }
    let notice = format!(
        "Added {} {}; a link to verify {} was mailed.",
        user.first_name, user.last_name, user.email
    );
    page::done(req, state, &format!("/console/staff/{}", user.id), &notice)
}

async fn render(
    state: &AppState,
    req: &Request,
    me: &Caller,
    form: NewForm,
    errors: Errors,
) -> Result<Response, Failure> {
    let frame = Frame::of(state, req, me, "New person", "/console/staff").await?;
    let (mut roles, custom) = role_choices(state, me, me.dealership_id).await?;
    roles.extend(custom.into_iter().map(|c| c.choice));
    let page = NewPage {
        frame,
        form,
        roles,
        dealerships: dealership_choices(state, me).await?,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}
