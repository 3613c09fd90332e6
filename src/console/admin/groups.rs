//! Dealer groups: every group with a create form; one group's page: rename, delete (409 while
//! it has dealerships or members, shown), its dealerships (taken out here; put in from a
//! dealership's page), and its group principals and managers (added by email, removed). The
//! same service calls as `/api/v1/dealer-groups`; every change asks for a recent second factor.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{At, Pager, committed, id_of, platform};
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    domain::{Email, Invalid, Role},
    entity::dealership,
    error::AppError,
    http::{dealer_groups::group_name, fields},
    scope::{Caller, RequestScope},
    service::dealer_groups::{self, Group},
    state::AppState,
};

#[derive(Deserialize, Default)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
pub struct MemberForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// A group member as the page lists them.
pub struct Member {
    id: Uuid,
    name: String,
    email: String,
    role: String,
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<Group>,
    pager: Pager,
    form: NameForm,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/groups_one.html")]
struct GroupPage {
    frame: Frame,
    group: Group,
    dealerships: Vec<dealership::Model>,
    rows: Vec<Member>,
    pager: Pager,
    new_name: String,
    member: MemberForm,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    at: &At,
    (form, errors): (NameForm, Errors),
) -> Result<Response, Failure> {
    let scope = platform(state, me, Resource::DealerGroups, Action::List).await?;
    let page = at.page()?;
    let listed = dealer_groups::list(&scope, page).await;
    let (rows, total) = committed(scope, listed).await?;
    let frame = Frame::of(state, req, me, "Dealer groups", "/console/groups").await?;
    let pager = Pager::of("/console/groups", &[], page.offset as i64, total);
    let page = ListPage {
        frame,
        rows,
        pager,
        form,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Every dealer group by name, 50 a page, and the form to create one.
#[handler]
pub async fn list(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(at): Query<At>,
) -> Result<Response, Failure> {
    let blank = (NameForm::default(), Errors::none());
    list_page(&state, req, &me, &at, blank).await
}

/// Creates an empty group; its page next (a taken name is the form's 409).
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<NameForm>,
) -> Result<Response, Failure> {
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Create).await?;
    let created = async { dealer_groups::create(&scope, group_name(&form.name)?).await };
    let created = created.await;
    match committed(scope, created).await {
        Ok(g) => Ok(done(
            req,
            &state,
            g.group.id,
            &format!("{} was created.", g.group.name),
        )),
        Err(err) => {
            let shown = (form, Errors::shown(err, &[])?);
            list_page(&state, req, &me, &At::default(), shown).await
        }
    }
}

fn done(req: &Request, state: &AppState, id: Uuid, notice: &str) -> Response {
    page::done(req, state, &format!("/console/groups/{id}"), notice)
}

/// What a group's page shows, read in one transaction.
async fn read_group(
    state: &AppState,
    me: &Caller,
    id: Uuid,
    at: &At,
) -> Result<(Group, Vec<dealership::Model>, Vec<Member>, Pager), AppError> {
    let scope = platform(state, me, Resource::DealerGroups, Action::Read).await?;
    let page = at.page()?;
    let read = async {
        let group = dealer_groups::get(&scope, id).await?;
        let dealerships = dealer_groups::dealerships(&scope, id).await?;
        let (members, total) = dealer_groups::members(&scope, id, page).await?;
        Ok((group, dealerships, members, total))
    }
    .await;
    let (group, dealerships, members, total) = committed(scope, read).await?;
    let members = members
        .into_iter()
        .map(|u| Member {
            id: u.id,
            name: format!("{} {}", u.first_name, u.last_name),
            email: u.email,
            role: role_label(u.role.as_str()),
        })
        .collect();
    let pager = Pager::of(
        &format!("/console/groups/{id}"),
        &[],
        page.offset as i64,
        total,
    );
    Ok((group, dealerships, members, pager))
}

/// What a group's page shows of a form that came back: the name typed, the member form, and
/// their errors.
#[derive(Default)]
struct Typed {
    name: Option<String>,
    member: MemberForm,
    errors: Errors,
}

impl Typed {
    fn named(name: String) -> Self {
        Self {
            name: Some(name),
            ..Self::default()
        }
    }
}

async fn group_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    (id, at): (Uuid, &At),
    typed: Typed,
) -> Result<Response, Failure> {
    let (group, dealerships, rows, pager) = read_group(state, me, id, at).await?;
    let title = group.group.name.clone();
    let frame = Frame::of(state, req, me, title, "/console/groups").await?;
    let page = GroupPage {
        frame,
        new_name: typed.name.unwrap_or_else(|| group.group.name.clone()),
        group,
        dealerships,
        rows,
        pager,
        member: typed.member,
        errors: typed.errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Back to the group's page with `err` shown beside what was typed, if a form can show it.
async fn shown(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    (mut typed, err): (Typed, AppError),
) -> Result<Response, Failure> {
    typed.errors = Errors::shown(err, &[])?;
    group_page(state, req, me, (id, &At::default()), typed).await
}

#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Query(at): Query<At>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    group_page(&state, req, &me, (id, &at), Typed::default()).await
}

#[handler]
pub async fn rename(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let name = group_name(&form.name);
    let renamed = async { dealer_groups::rename(&scope, id, name?).await }.await;
    match committed(scope, renamed).await {
        Ok(g) => Ok(done(
            req,
            &state,
            id,
            &format!("Renamed to {}.", g.group.name),
        )),
        Err(err) => shown(&state, req, &me, id, (Typed::named(form.name), err)).await,
    }
}

/// Deletes an empty group (409 shown while it has dealerships or members).
#[handler]
pub async fn delete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Delete).await?;
    let deleted = dealer_groups::delete(&scope, id).await;
    match committed(scope, deleted).await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/groups",
            "The group was deleted.",
        )),
        Err(err) => shown(&state, req, &me, id, (Typed::default(), err)).await,
    }
}

/// Takes a dealership out of the group: its members no longer reach it.
#[handler]
pub async fn take_out(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path((id, dealership_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    let dealership_id = id_of(&dealership_id, "dealership")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let taken = dealer_groups::place(&scope, id, dealership_id, false).await;
    committed(scope, taken).await?;
    Ok(done(
        req,
        &state,
        id,
        "The dealership was taken out of the group.",
    ))
}

const NOT_A_GROUP_ROLE: Invalid = Invalid::new("must be group_principal or group_manager");

/// The person with `email` (any membership of theirs) becomes group principal or manager.
async fn add(scope: &RequestScope, id: Uuid, form: &MemberForm) -> Result<String, AppError> {
    let (email, role) = fields::check((
        ("email", Email::parse(&form.email)),
        (
            "role",
            form.role.parse::<Role>().map_err(|_| NOT_A_GROUP_ROLE),
        ),
    ))?;
    let user_id = dealer_groups::membership_of(scope, &email).await?;
    let added = dealer_groups::add_member(scope, id, user_id, role).await?;
    Ok(format!(
        "{} {} is {} now.",
        added.first_name,
        added.last_name,
        role_label(role.as_str()).to_lowercase()
    ))
}

#[handler]
pub async fn add_member(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let added = add(&scope, id, &form).await;
    match committed(scope, added).await {
        Ok(notice) => Ok(done(req, &state, id, &notice)),
        Err(err) => {
            let typed = Typed {
                member: form,
                ..Typed::default()
            };
            shown(&state, req, &me, id, (typed, err)).await
        }
    }
}

/// Ends a group membership; its sessions end on every replica.
#[handler]
pub async fn remove_member(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "dealer group")?;
    let member_id = id_of(&member_id, "group membership")?;
    let scope = platform(&state, &me, Resource::DealerGroups, Action::Update).await?;
    let removed = dealer_groups::remove_member(&scope, id, member_id).await;
    committed(scope, removed).await?;
    Ok(done(
        req,
        &state,
        id,
        "The group membership ended: its sessions were ended.",
    ))
}
