//! `/api/v1/roles`: a dealership's custom roles — a base role plus permissions, handed out as a
//! user's or an invitation's `role`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{json_string, json_string_or_null},
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{self, Action, Reach, Resource},
    domain::{CustomRoleName, Role},
    entity::custom_role,
    error::AppError,
    service::{
        Page,
        roles::{self, NewRole, RoleChange},
    },
    state::AppState,
};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident => $inner:ty { $($variant:ident $(= $rename:literal)?),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $name { $($(#[oai(rename = $rename)])? $variant),+ }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$inner>::$variant),+ }
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                match value { $(<$inner>::$variant => $name::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// What a permission acts on.
    PermissionResource => Resource {
        Users, Dealerships, Sessions, AuditEvents, Policies, Invitations, Roles, DealerGroups,
        OauthClients, ServiceAccounts, Webhooks, AccessReview,
    }
);
wire_enum!(PermissionAction => Action { List, Read, Create, Update, Delete });

/// What a custom role inherits: a dealership role below the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum BaseRole {
    Manager,
    Agent,
}

impl From<BaseRole> for Role {
    fn from(base: BaseRole) -> Self {
        match base {
            BaseRole::Manager => Role::Manager,
            BaseRole::Agent => Role::Agent,
        }
    }
}
wire_enum!(
    /// The target's relation to the holder: their own record (`self`) or anything in their
    /// dealership. `any` (platform) is refused: a dealership's role acts within it.
    PermissionScope => Reach { Own = "self", Dealership, Group, Any }
);

/// One permission: `action` on `resource` at `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Object)]
pub struct Permission {
    pub resource: PermissionResource,
    pub action: PermissionAction,
    pub scope: PermissionScope,
}

impl From<Permission> for authz::Permission {
    fn from(p: Permission) -> Self {
        Self {
            resource: p.resource.into(),
            action: p.action.into(),
            reach: p.scope.into(),
        }
    }
}

impl From<authz::Permission> for Permission {
    fn from(p: authz::Permission) -> Self {
        Self {
            resource: p.resource.into(),
            action: p.action.into(),
            scope: p.reach.into(),
        }
    }
}

/// A dealership's custom role.
#[derive(Debug, Object)]
pub struct CustomRole {
    pub id: Uuid,
    pub dealership_id: Uuid,
    /// What a user's or an invitation's `role` names it by, unique in the dealership.
    pub name: String,
    /// What holders inherit, and their rank for the rank rules.
    pub base_role: Role,
    /// What holders may beyond the base role.
    pub permissions: Vec<Permission>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<custom_role::Model> for CustomRole {
    fn from(r: custom_role::Model) -> Self {
        Self {
            permissions: roles::held_by(&r).into_iter().map(Into::into).collect(),
            id: r.id,
            dealership_id: r.dealership_id,
            name: r.name,
            base_role: r.base_role,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The names of custom roles: 2 to 40 lowercase letters, digits, `_` or `-`, starting with a
/// letter, and none of the built-in roles' names.
fn parse_name(raw: &str) -> Result<CustomRoleName, AppError> {
    CustomRoleName::parse(raw).map_err(|e| AppError::field("name", e.message()))
}

const MAX_PERMISSIONS: usize = 100;

fn parse_permissions(raw: Vec<Permission>) -> Result<Vec<authz::Permission>, AppError> {
    if raw.len() > MAX_PERMISSIONS {
        return Err(AppError::field("permissions", "at most 100"));
    }
    Ok(raw.into_iter().map(Into::into).collect())
}

/// The console's form of a new role (`base_role` and each permission as the API spells them:
/// `manager`, `users:list:dealership`), read by the same rules as the API's body.
pub(crate) fn new_role(
    name: String,
    base_role: &str,
    permissions: &[String],
    dealership_id: Option<Uuid>,
) -> Result<NewRole, AppError> {
    let base_role = match base_role {
        "manager" => BaseRole::Manager,
        "agent" => BaseRole::Agent,
        _ => return Err(AppError::field("base_role", "must be manager or agent")),
    };
    let body = CreateRole {
        name,
        base_role,
        permissions: named(permissions)?,
        dealership_id,
    };
    body.parse()
}

/// The console's edit of a role: its name and its whole set of permissions.
pub(crate) fn role_change(name: String, permissions: &[String]) -> Result<RoleChange, AppError> {
    let body = UpdateRole {
        name: Some(name),
        permissions: Some(named(permissions)?),
    };
    body.parse()
}

fn named(permissions: &[String]) -> Result<Vec<Permission>, AppError> {
    permissions
        .iter()
        .map(|p| {
            authz::Permission::parse(p)
                .map(Permission::from)
                .ok_or_else(|| AppError::field("permissions", format!("`{p}` is not a permission")))
        })
        .collect()
}

#[derive(Object)]
#[oai(example)]
struct CreateRole {
    #[oai(deserialize_with = "json_string")]
    name: String,
    base_role: BaseRole,
    /// At most 100; each one the caller holds themselves at that scope.
    permissions: Vec<Permission>,
    /// Required for admins; a principal's roles are their own dealership's.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
}

impl Example for CreateRole {
    fn example() -> Self {
        Self {
            name: "finance-manager".into(),
            base_role: BaseRole::Manager,
            permissions: vec![Permission {
                resource: PermissionResource::AuditEvents,
                action: PermissionAction::List,
                scope: PermissionScope::Dealership,
            }],
            dealership_id: None,
        }
    }
}

impl CreateRole {
    fn parse(self) -> Result<NewRole, AppError> {
        Ok(NewRole {
            name: parse_name(&self.name)?,
            base: self.base_role.into(),
            permissions: parse_permissions(self.permissions)?,
            dealership_id: self.dealership_id,
        })
    }
}

#[derive(Object)]
#[oai(example)]
struct UpdateRole {
    /// A new name; holders keep the role.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    name: Option<String>,
    /// The whole new set; a permission gained must be one the caller holds.
    #[oai(nullable)]
    permissions: Option<Vec<Permission>>,
}

impl Example for UpdateRole {
    fn example() -> Self {
        Self {
            name: Some("finance-lead".into()),
            permissions: None,
        }
    }
}

impl UpdateRole {
    fn parse(self) -> Result<RoleChange, AppError> {
        Ok(RoleChange {
            name: self.name.as_deref().map(parse_name).transpose()?,
            permissions: self.permissions.map(parse_permissions).transpose()?,
        })
    }
}

#[derive(ApiResponse)]
enum RoleList {
    /// A page of roles by dealership and name; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<CustomRole>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    /// Defined: in force on every replica within a second.
    #[oai(status = 201)]
    Created(Json<CustomRole>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct RolesApi;

#[OpenApi(prefix_path = "/api/v1/roles", tag = "ApiTags::Roles")]
impl RolesApi {
    /// Define a custom role for a dealership: a base role plus permissions.
    ///
    /// **Permissions:** `roles:create` at the caller's widest scope — an admin for any
    /// dealership (`dealership_id`), a principal for their own (another one is `404`). Every
    /// permission must be one the caller holds at that scope (`403` otherwise, nothing
    /// created); none may be at `any` scope (`422`). The name is unique in the dealership
    /// (`409`) and is none of the built-in roles.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<CreateRole>,
    ) -> ApiResult<Created, set::CreateRole> {
        let new = body.parse()?;
        let scope = state.begin(&me, Resource::Roles, Action::Create).await?;
        let created = roles::create(&scope, new).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// List custom roles: every dealership's for admins, the caller's dealership's otherwise.
    ///
    /// **Permissions:** `roles:list` at the caller's widest scope; `dealership_id` is honoured
    /// for admins.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(dealership_id): Query<Option<Uuid>>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<RoleList, set::Listing> {
        let page = Page::parse(limit, offset)?;
        let scope = state.begin(&me, Resource::Roles, Action::List).await?;
        let (found, total) = roles::list(&scope, dealership_id, page).await?;
        scope.commit().await?;
        let found = found.into_iter().map(CustomRole::from).collect();
        Ok(RoleList::Ok(Json(found), total))
    }

    /// One custom role.
    ///
    /// **Permissions:** `roles:read` at the role's scope; another dealership's is `404`.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<CustomRole>, set::Lookup> {
        let scope = state.begin(&me, Resource::Roles, Action::Read).await?;
        let found = roles::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// Rename a custom role or replace its permissions; its holders keep it.
    ///
    /// **Permissions:** `roles:update` at the role's scope. A permission the role gains must be
    /// one the caller holds (`403`, nothing changed). The base role cannot change.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<UpdateRole>,
    ) -> ApiResult<Json<CustomRole>, set::Edit> {
        let change = body.parse()?;
        let scope = state.begin(&me, Resource::Roles, Action::Update).await?;
        let updated = roles::update(&scope, id, change).await?;
        scope.commit().await?;
        Ok(Json(updated.into()))
    }

    /// Delete a custom role nobody holds.
    ///
    /// **Permissions:** `roles:delete` at the role's scope. A role still held by users or
    /// pending invitations is `409`, naming how many.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state.begin(&me, Resource::Roles, Action::Delete).await?;
        roles::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }
}
