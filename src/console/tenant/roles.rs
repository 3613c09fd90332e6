//! Custom roles at the console: the dealership's roles and a new one, one role's page (rename,
//! permissions, delete). The permissions are a grid of what the caller holds themselves
//! ([`roles::grantable`]), so the form offers nothing the service would refuse for that reason;
//! a forged box is refused by the service as the API refuses it.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    super::list::{Choice, dealership_choices},
    PAGE, Pager,
    grid::{Grid, scope_words},
    id_of,
};
use crate::{
    authz::{Action, Reach, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    entity::custom_role,
    error::AppError,
    http::{new_role, role_change},
    scope::Caller,
    service::{Page, roles},
    state::AppState,
};

/// What the role form sent, or what the role holds: the API's field names, each permission as
/// it is stored (`users:list:dealership`), one `permission` field per ticked box.
#[derive(Default)]
pub struct Draft {
    pub name: String,
    pub base_role: String,
    pub dealership_id: String,
    pub permissions: Vec<String>,
}

impl Draft {
    fn of(fields: Vec<(String, String)>) -> Self {
        let mut draft = Self::default();
        for (name, value) in fields {
            match name.as_str() {
                "name" => draft.name = value,
                "base_role" => draft.base_role = value,
                "dealership_id" => draft.dealership_id = value,
                "permission" => draft.permissions.push(value),
                _ => {}
            }
        }
        draft
    }

    fn of_role(role: &custom_role::Model) -> Self {
        Self {
            name: role.name.clone(),
            base_role: role.base_role.as_str().to_owned(),
            dealership_id: role.dealership_id.to_string(),
            permissions: role.permissions.clone(),
        }
    }

    /// The admin's dealership field: blank is none (the service says whether one is needed).
    fn dealership(&self) -> Result<Option<Uuid>, AppError> {
        match self.dealership_id.trim() {
            "" => Ok(None),
            raw => Uuid::try_parse(raw)
                .map(Some)
                .map_err(|_| AppError::field("dealership_id", "must be a UUID")),
        }
    }
}

/// A role as the list shows it.
pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub base: String,
    pub dealership_id: Uuid,
    pub permissions: Vec<String>,
}

impl Row {
    fn of(role: &custom_role::Model) -> Self {
        let permissions = roles::held_by(role)
            .into_iter()
            .map(|p| {
                let (_, said) = scope_words(p.reach);
                let resource = role_label(p.resource.as_str());
                format!("{resource}: {} ({said})", p.action.as_str())
            })
            .collect();
        Self {
            id: role.id,
            name: role.name.clone(),
            base: role_label(role.base_role.as_str()),
            dealership_id: role.dealership_id,
            permissions,
        }
    }
}

/// The role form: its values, its grid, and the dealerships it asks to choose from (a group
/// principal's rooftops, an admin's dealerships; none within one dealership).
pub struct RoleForm {
    pub draft: Draft,
    pub grid: Grid,
    pub dealerships: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "console/roles.html")]
struct RolesPage {
    frame: Frame,
    rows: Vec<Row>,
    show_dealership: bool,
    pager: Pager,
    form: Option<RoleForm>,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/roles_edit.html")]
struct RolePage {
    frame: Frame,
    role: Row,
    form: Option<RoleForm>,
    may_delete: bool,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    offset: Option<i64>,
}

/// The dealership's custom roles, and a new one's form for whoever may define one.
///
/// **Permissions:** `roles:list` (the form: `roles:create`), as `GET /roles`.
#[handler]
pub async fn list(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(paging): Query<Paging>,
) -> Result<Response, Failure> {
    let offset = paging.offset.unwrap_or(0);
    list_page(&state, req, &me, offset, Draft::default(), Errors::none()).await
}

async fn list_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    offset: i64,
    draft: Draft,
    errors: Errors,
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Roles, Action::List).await?;
    let page = Page::parse(Some(PAGE), Some(offset))?;
    let (found, total) = roles::list(&scope, None, page).await?;
    let (offered, reach) = (roles::grantable(&scope), scope.reach());
    scope.commit().await?;
    let dealerships = dealership_choices(state, me).await?;
    let form = state
        .grant(me, Resource::Roles, Action::Create)
        .ok()
        .map(|_| RoleForm {
            grid: Grid::of(&offered, &draft.permissions),
            dealerships,
            draft,
        });
    let page = RolesPage {
        frame: Frame::of(state, req, me, "Custom roles", "/console/roles").await?,
        rows: found.iter().map(Row::of).collect(),
        show_dealership: reach > Reach::Dealership,
        pager: Pager::of("/console/roles", &[], offset, total),
        form,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Defines a role from the form; its errors are shown on the form, in the API's words.
///
/// **Permissions:** `roles:create`, as `POST /roles` (each permission one the caller holds).
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let draft = Draft::of(fields);
    match define(&state, &me, &draft).await {
        Ok(role) => {
            let notice = format!("Role {} created.", role.name);
            Ok(page::done(req, &state, "/console/roles", &notice))
        }
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            list_page(&state, req, &me, 0, draft, errors).await
        }
    }
}

async fn define(
    state: &AppState,
    me: &Caller,
    draft: &Draft,
) -> Result<custom_role::Model, AppError> {
    let (name, base) = (draft.name.clone(), draft.base_role.as_str());
    let new = new_role(name, base, &draft.permissions, draft.dealership()?)?;
    let scope = state.begin(me, Resource::Roles, Action::Create).await?;
    let created = roles::create(&scope, new).await?;
    scope.commit().await?;
    Ok(created)
}

/// One role: its form for whoever may change it, and its deletion.
///
/// **Permissions:** `roles:read` at the role's scope, as `GET /roles/{id}`; another
/// dealership's role is the not-found page.
#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "role")?;
    role_page(&state, req, &me, id, None, Errors::none()).await
}

async fn role_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    draft: Option<Draft>,
    errors: Errors,
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Roles, Action::Read).await?;
    let role = roles::get(&scope, id).await?;
    let mut offered = roles::grantable(&scope);
    scope.commit().await?;
    // what the role holds stays in view, held by the caller or not (the service decides)
    offered.extend(roles::held_by(&role));
    offered.sort();
    offered.dedup();
    let draft = draft.unwrap_or_else(|| Draft::of_role(&role));
    let title = format!("Role {}", role.name);
    let page = RolePage {
        frame: Frame::of(state, req, me, title, "/console/roles").await?,
        role: Row::of(&role),
        form: state
            .grant(me, Resource::Roles, Action::Update)
            .is_ok()
            .then(|| RoleForm {
                grid: Grid::of(&offered, &draft.permissions),
                dealerships: Vec::new(),
                draft,
            }),
        may_delete: state.grant(me, Resource::Roles, Action::Delete).is_ok(),
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// Renames the role and replaces its permissions.
///
/// **Permissions:** `roles:update` at the role's scope, as `PATCH /roles/{id}`.
#[handler]
pub async fn update(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let (id, draft) = (id_of(&id, "role")?, Draft::of(fields));
    match reshape(&state, &me, id, &draft).await {
        Ok(role) => {
            let notice = format!("Role {} saved.", role.name);
            Ok(page::done(
                req,
                &state,
                &format!("/console/roles/{id}"),
                &notice,
            ))
        }
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            role_page(&state, req, &me, id, Some(draft), errors).await
        }
    }
}

async fn reshape(
    state: &AppState,
    me: &Caller,
    id: Uuid,
    draft: &Draft,
) -> Result<custom_role::Model, AppError> {
    let change = role_change(draft.name.clone(), &draft.permissions)?;
    let scope = state.begin(me, Resource::Roles, Action::Update).await?;
    let updated = roles::update(&scope, id, change).await?;
    scope.commit().await?;
    Ok(updated)
}

/// Deletes a role nobody holds (a held one: the API's 409 shown on its page).
///
/// **Permissions:** `roles:delete` at the role's scope, as `DELETE /roles/{id}`.
#[handler]
pub async fn delete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "role")?;
    match remove(&state, &me, id).await {
        Ok(()) => Ok(page::done(req, &state, "/console/roles", "Role deleted.")),
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            role_page(&state, req, &me, id, None, errors).await
        }
    }
}

async fn remove(state: &AppState, me: &Caller, id: Uuid) -> Result<(), AppError> {
    let scope = state.begin(me, Resource::Roles, Action::Delete).await?;
    roles::delete(&scope, id).await?;
    scope.commit().await
}
