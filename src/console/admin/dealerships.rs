//! The platform's dealerships: every one, paginated, with a create form; one dealership's
//! page: its profile, suspension, deletion and the dealer group it belongs to. The same
//! service calls as `/api/v1/dealerships` and the API's group placement.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{At, Pager, committed, id_of, platform};
use crate::console::tenant::ProfileForm;
use crate::{
    authz::{Action, Resource},
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
        dealer_groups::{self, Group},
        dealerships::{self, Profile, Switches},
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/dealerships.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<dealership::Model>,
    pager: Pager,
    form: ProfileForm,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/dealerships_one.html")]
struct DealershipPage {
    frame: Frame,
    d: dealership::Model,
    /// The group it is in, by name (its id if the name is not among those listed).
    group: Option<(Uuid, String)>,
    /// Groups it may be put in (empty when the caller may not list them).
    groups: Vec<Group>,
    form: ProfileForm,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    at: &At,
    (form, errors): (ProfileForm, Errors),
) -> Result<Response, Failure> {
    let scope = platform(state, me, Resource::Dealerships, Action::List).await?;
    let page = at.page()?;
    let listed = dealerships::list(&scope, page).await;
    let (rows, total) = committed(scope, listed).await?;
    let frame = Frame::of(state, req, me, "Dealerships", "/console/dealerships").await?;
    let pager = Pager::of("/console/dealerships", &[], page.offset as i64, total);
    let page = ListPage {
        frame,
        rows,
        pager,
        form,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Every dealership, newest first, 50 a page, and the form to create one.
#[handler]
pub async fn list(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(at): Query<At>,
) -> Result<Response, Failure> {
    let blank = (ProfileForm::default(), Errors::none());
    list_page(&state, req, &me, &at, blank).await
}

/// Creates a dealership; its page next. The API's field errors (422) and a taken name (409)
/// are shown on the form.
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<ProfileForm>,
) -> Result<Response, Failure> {
    let scope = platform(&state, &me, Resource::Dealerships, Action::Create).await?;
    let created = async { dealerships::create(&scope, form.parse()?).await }.await;
    match committed(scope, created).await {
        Ok(d) => Ok(done(req, &state, d.id, &format!("{} was created.", d.name))),
        Err(err) => {
            let shown = (form, Errors::shown(err, &[])?);
            list_page(&state, req, &me, &At::default(), shown).await
        }
    }
}

fn done(req: &Request, state: &AppState, id: Uuid, notice: &str) -> Response {
    page::done(req, state, &format!("/console/dealerships/{id}"), notice)
}

/// Groups to offer: the first 100 by name, if the caller may list groups at all.
async fn groups(state: &AppState, me: &Caller) -> Result<Vec<Group>, AppError> {
    let scope = match platform(state, me, Resource::DealerGroups, Action::List).await {
        Ok(scope) => scope,
        Err(AppError::Forbidden) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let page = Page::parse(Some(100), None)?;
    let listed = dealer_groups::list(&scope, page).await;
    Ok(committed(scope, listed).await?.0)
}

/// The dealership's page; `form` is what was typed when it comes back with its errors.
async fn dealership_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    (form, errors): (Option<ProfileForm>, Errors),
) -> Result<Response, Failure> {
    let scope = platform(state, me, Resource::Dealerships, Action::Read).await?;
    let found = dealerships::get(&scope, id).await;
    let d = committed(scope, found).await?;
    let groups = groups(state, me).await?;
    let group = d.group_id.map(|g| {
        let name = groups.iter().find(|x| x.group.id == g);
        (
            g,
            name.map_or_else(|| g.to_string(), |x| x.group.name.clone()),
        )
    });
    let frame = Frame::of(state, req, me, d.name.clone(), "/console/dealerships").await?;
    let form = form.unwrap_or_else(|| ProfileForm::of(&d));
    let page = DealershipPage {
        frame,
        d,
        group,
        groups,
        form,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    dealership_page(&state, req, &me, id, (None, Errors::none())).await
}

/// Edits the name, address and contacts.
#[handler]
pub async fn edit(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    let scope = platform(&state, &me, Resource::Dealerships, Action::Update).await?;
    let updated = async {
        let profile = form.parse()?;
        dealerships::update(&scope, id, profile, Switches::default()).await
    }
    .await;
    match committed(scope, updated).await {
        Ok(d) => Ok(done(req, &state, id, &format!("{} was saved.", d.name))),
        Err(err) => {
            let shown = (Some(form), Errors::shown(err, &[])?);
            dealership_page(&state, req, &me, id, shown).await
        }
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    is_active: bool,
}

/// Suspends (its users' sessions and tokens end at once, on every replica) or reactivates.
/// Suspending asks for a recent second factor, as the API does.
#[handler]
pub async fn activate(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    let scope = platform(&state, &me, Resource::Dealerships, Action::Update).await?;
    let switches = Switches {
        is_active: Some(form.is_active),
        mfa_required: None,
    };
    let updated = dealerships::update(&scope, id, Profile::default(), switches).await;
    let d = committed(scope, updated).await?;
    let notice = match d.is_active {
        true => format!("{} is active again: its people can sign in.", d.name),
        false => format!("{} is suspended: its people were signed out.", d.name),
    };
    Ok(done(req, &state, id, &notice))
}

/// Soft-deletes the dealership (suspended, hidden, its users' sessions ended).
#[handler]
pub async fn delete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    let scope = platform(&state, &me, Resource::Dealerships, Action::Delete).await?;
    let name = dealerships::get(&scope, id).await?.name;
    let deleted = dealerships::delete(&scope, id).await;
    committed(scope, deleted).await?;
    let notice = format!("{name} was deleted: its people were signed out.");
    Ok(page::done(req, &state, "/console/dealerships", &notice))
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    group_id: String,
}

/// Puts the dealership in a dealer group (409 shown if it is in another).
#[handler]
pub async fn place(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<GroupForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    let group = id_of(&form.group_id, "dealer group")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let placed = dealer_groups::place(&scope, group, id, true).await;
    match committed(scope, placed).await {
        Ok(()) => Ok(done(req, &state, id, "The dealership is in the group now.")),
        Err(err) => {
            let shown = (None, Errors::shown(err, &[])?);
            dealership_page(&state, req, &me, id, shown).await
        }
    }
}

/// Takes the dealership out of its dealer group.
#[handler]
pub async fn unplace(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealership")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let d = dealerships::get(&scope, id).await?;
    if let Some(group) = d.group_id {
        let taken = dealer_groups::place(&scope, group, id, false).await;
        committed(scope, taken).await?;
    }
    let notice = format!("{} is in no dealer group now.", d.name);
    Ok(done(req, &state, id, &notice))
}
