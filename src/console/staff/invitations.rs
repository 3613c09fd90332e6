//! `/console/invitations`: the pending invitations at the caller's reach, with resend and
//! revoke, and the invite form — each as `/api/v1/invitations` does it (its quota's 429 and
//! field errors shown on the form).

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{Choice, dealership_choices, given, id_of, role_choices, when};
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    entity::invitation::{self, Status},
    error::AppError,
    http::invitations::CreateInvitation,
    scope::Caller,
    service::{Page, invitations},
    state::AppState,
};

const PER_PAGE: i64 = 50;
const HERE: &str = "/console/invitations";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub first_name: String,
    pub role: String,
    pub dealership_id: String,
}

impl InviteForm {
    fn body(&self) -> Result<CreateInvitation, AppError> {
        let dealership_id = given(&self.dealership_id)
            .map(|d| Uuid::try_parse(&d).map_err(|_| AppError::NotFound("dealership")))
            .transpose()?;
        Ok(CreateInvitation {
            email: self.email.clone(),
            role: self.role.clone(),
            dealership_id,
            first_name: given(&self.first_name),
            last_name: None,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct At {
    offset: Option<i64>,
}

pub struct Row {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub dealership: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "console/invitations.html")]
struct InvitationsPage {
    frame: Frame,
    rows: Vec<Row>,
    total: u64,
    previous: Option<String>,
    next: Option<String>,
    form: InviteForm,
    roles: Vec<Choice>,
    dealerships: Vec<Choice>,
    errors: Errors,
}

#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(at): Query<At>,
) -> Result<Response, Failure> {
    let form = InviteForm {
        role: "agent".to_owned(),
        ..InviteForm::default()
    };
    render(&state, req, &me, at.offset, form, Errors::none()).await
}

/// `POST /invitations`: the link is mailed; the form again with the API's errors otherwise.
#[handler]
pub async fn invite(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<InviteForm>,
) -> Result<Response, Failure> {
    let outcome = async {
        let new = form.body()?.parse()?;
        let scope = state
            .begin(&me, Resource::Invitations, Action::Create)
            .await?;
        let created = invitations::create(&state, &scope, new).await?;
        scope.commit().await?;
        Ok(created)
    };
    match outcome.await {
        Ok(i) => done(
            req,
            &state,
            &format!("Invited {}: the link is on its way.", i.email),
        ),
        Err(err) => render(&state, req, &me, None, form, Errors::shown(err, &[])?).await,
    }
}

/// `POST /invitations/{id}/resend`: a new link, valid for a full lifetime again.
#[handler]
pub async fn resend(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "invitation")?;
    let outcome = async {
        let scope = state
            .begin(&me, Resource::Invitations, Action::Update)
            .await?;
        let resent = invitations::resend(&state, &scope, id).await?;
        scope.commit().await?;
        Ok(format!(
            "Sent {} a new link; the old one no longer works.",
            resent.email
        ))
    };
    answer(&state, req, &me, outcome.await).await
}

/// `DELETE /invitations/{id}`: its link stops working.
#[handler]
pub async fn revoke(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "invitation")?;
    let outcome = async {
        let scope = state
            .begin(&me, Resource::Invitations, Action::Delete)
            .await?;
        invitations::revoke(&scope, id).await?;
        scope.commit().await?;
        Ok("Revoked the invitation: its link no longer works.".to_owned())
    };
    answer(&state, req, &me, outcome.await).await
}

fn done(req: &Request, state: &AppState, notice: &str) -> Result<Response, Failure> {
    Ok(page::done(req, state, HERE, notice))
}

async fn answer(
    state: &AppState,
    req: &Request,
    me: &Caller,
    outcome: Result<String, AppError>,
) -> Result<Response, Failure> {
    match outcome {
        Ok(notice) => done(req, state, &notice),
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            render(state, req, me, None, InviteForm::default(), errors).await
        }
    }
}

/// The page: one page of pending invitations, the invite form with `form` and `errors`.
async fn render(
    state: &AppState,
    req: &Request,
    me: &Caller,
    offset: Option<i64>,
    form: InviteForm,
    errors: Errors,
) -> Result<Response, Failure> {
    let page = Page::parse(Some(PER_PAGE), offset)?;
    let scope = state.begin(me, Resource::Invitations, Action::List).await?;
    let (found, total) = invitations::list(&scope, Some(Status::Pending), None, page).await?;
    scope.commit().await?;
    let (mut roles, custom) = role_choices(state, me, me.dealership_id).await?;
    let dealerships = dealership_choices(state, me).await?;
    let rows = found
        .into_iter()
        .map(|i| row(i, &custom, &dealerships))
        .collect();
    let offset = page.offset as i64;
    let at = |o: i64| match o {
        0 => HERE.to_owned(),
        o => format!("{HERE}?offset={o}"),
    };
    roles.extend(custom.into_iter().map(|c| c.choice));
    let page = InvitationsPage {
        frame: Frame::of(state, req, me, "Invitations", HERE).await?,
        rows,
        total,
        previous: (offset > 0).then(|| at((offset - PER_PAGE).max(0))),
        next: ((offset + PER_PAGE) < total as i64).then(|| at(offset + PER_PAGE)),
        form,
        roles,
        dealerships,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

fn row(i: invitation::Model, custom: &[super::CustomChoice], places: &[Choice]) -> Row {
    let role = match i.custom_role_id {
        Some(id) => custom
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| "Custom role".to_owned(), |c| c.choice.value.clone()),
        None => role_label(i.role.as_str()),
    };
    let dealership = i.dealership_id.map_or_else(
        || "The platform".to_owned(),
        |d| {
            let id = d.to_string();
            places
                .iter()
                .find(|p| p.value == id)
                .map_or(id, |p| p.label.clone())
        },
    );
    Row {
        id: i.id,
        email: i.email,
        name: i.first_name.unwrap_or_default(),
        role,
        dealership,
        expires: when(Some(i.expires_at)),
    }
}
