//! The caller's own dealership at the console: its profile and its MFA requirement, saved
//! through the service `PATCH /dealerships/{id}` uses; a group principal's rooftops, each
//! with its own page.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{PAGE, Pager, id_of};
use crate::{
    authz::{Action, Reach, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame},
        visitor::Me,
    },
    entity::dealership,
    error::AppError,
    scope::Caller,
    service::{
        Page,
        dealerships::{self, Switches},
    },
    state::AppState,
};

/// A dealership's profile form (here and on the admin's pages), its fields as the API names
/// them; `mfa_required` is a checkbox, shown only to those who decide it.
#[derive(Deserialize, Default)]
pub struct ProfileForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub mfa_required: Option<String>,
}

impl ProfileForm {
    /// The API's parsing of a dealership's profile: a blank optional field clears it.
    pub fn parse(&self) -> Result<dealerships::Profile, AppError> {
        crate::http::dealerships::profile(
            Some(&self.name),
            Some(&self.address),
            Some(&self.contact_email),
            Some(&self.contact_phone),
        )
    }

    pub fn of(d: &dealership::Model) -> Self {
        Self {
            name: d.name.clone(),
            address: d.address.clone().unwrap_or_default(),
            contact_email: d.contact_email.clone().unwrap_or_default(),
            contact_phone: d.contact_phone.clone().unwrap_or_default(),
            mfa_required: d.mfa_required.then(|| "true".to_owned()),
        }
    }
}

#[derive(Template)]
#[template(path = "console/dealership.html")]
struct DealershipPage {
    frame: Frame,
    id: Uuid,
    is_active: bool,
    requires_mfa: bool,
    form: ProfileForm,
    /// The caller may edit the profile (else the page only shows it).
    may_edit: bool,
    /// The caller decides the MFA requirement (admins and the dealership's principal).
    decides_mfa: bool,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/dealership_list.html")]
struct RooftopsPage {
    frame: Frame,
    rows: Vec<dealership::Model>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    offset: Option<i64>,
}

/// The caller's dealership; for a caller without one of their own (a group principal), the
/// dealerships they reach, each linking to its page.
///
/// **Permissions:** `dealerships:read`, as `GET /dealerships/{id}` (the list:
/// `dealerships:list`, as `GET /dealerships`).
#[handler]
pub async fn own(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(paging): Query<Paging>,
) -> Result<Response, Failure> {
    match me.dealership_id {
        Some(id) => profile_page(&state, req, &me, id, None, Errors::none()).await,
        None => rooftops(&state, req, &me, paging.offset.unwrap_or(0)).await,
    }
}

async fn rooftops(
    state: &AppState,
    req: &Request,
    me: &Caller,
    offset: i64,
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Dealerships, Action::List).await?;
    let page = Page::parse(Some(PAGE), Some(offset))?;
    let (rows, total) = dealerships::list(&scope, page).await?;
    scope.commit().await?;
    let page = RooftopsPage {
        frame: Frame::of(state, req, me, "Dealerships", "/console/dealership").await?,
        rows,
        pager: Pager::of("/console/dealership", &[], offset, total),
    };
    Ok(page::render(poem::http::StatusCode::OK, &page))
}

/// One dealership's page: another dealership's id is the not-found page.
///
/// **Permissions:** `dealerships:read` at the target's scope, as `GET /dealerships/{id}`.
#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    profile_page(&state, req, &me, id, None, Errors::none()).await
}

/// Where a dealership's page is: the caller's own at `/console/dealership`.
fn here(me: &Caller, id: Uuid) -> String {
    if me.dealership_id == Some(id) {
        "/console/dealership".to_owned()
    } else {
        format!("/console/dealership/{id}")
    }
}

async fn profile_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    sent: Option<ProfileForm>,
    errors: Errors,
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Dealerships, Action::Read).await?;
    let found = dealerships::get(&scope, id).await?;
    scope.commit().await?;
    let may_edit = state
        .grant(me, Resource::Dealerships, Action::Update)
        .is_ok_and(|g| g.reach() > Reach::Own);
    let page = DealershipPage {
        frame: Frame::of(state, req, me, found.name.clone(), "/console/dealership").await?,
        id,
        is_active: found.is_active,
        requires_mfa: found.mfa_required,
        form: sent.unwrap_or_else(|| ProfileForm::of(&found)),
        may_edit,
        decides_mfa: dealerships::decides_mfa(me),
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Saves the profile and, for whoever decides it, the MFA requirement (switching it asks for
/// a recent second factor where the API does); errors are shown beside their fields.
///
/// **Permissions:** `dealerships:update` at the target's scope, as `PATCH /dealerships/{id}`.
#[handler]
pub async fn save(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    match update(&state, &me, id, &form).await {
        Ok(name) => {
            let notice = format!("{name} saved.");
            Ok(page::done(req, &state, &here(&me, id), &notice))
        }
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            profile_page(&state, req, &me, id, Some(form), errors).await
        }
    }
}

async fn update(
    state: &AppState,
    me: &Caller,
    id: Uuid,
    form: &ProfileForm,
) -> Result<String, AppError> {
    let scope = state
        .begin(me, Resource::Dealerships, Action::Update)
        .await?;
    let profile = form.parse()?;
    let switches = Switches {
        is_active: None,
        // a box left unticked is sent as nothing: off, for whoever sees the switch
        mfa_required: dealerships::decides_mfa(me).then_some(form.mfa_required.is_some()),
    };
    let updated = dealerships::update(&scope, id, profile, switches).await?;
    scope.commit().await?;
    Ok(updated.name)
}
