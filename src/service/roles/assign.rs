//! Handing a role out: a user's or an invitation's `role` names a built-in role or a custom
//! role of their own dealership. A custom role is found only in that dealership (another
//! dealership's is as unknown as a misspelt one: 422), its base role is the rank for the rank
//! rules, and whoever hands it out must hold every one of its permissions themselves.

use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};
use uuid::Uuid;

use super::held_by;
use crate::{
    auth::principal::Principal,
    authz::Reach,
    domain::{Role, RoleName},
    entity::custom_role,
    error::AppError,
    scope::RequestScope,
    service::{
        dealerships,
        users::manage::{outranks, placement},
    },
};

/// Where a new member goes and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub dealership_id: Option<Uuid>,
    pub role: Role,
    pub custom_role_id: Option<Uuid>,
}

impl Placement {
    /// A built-in role, placed by whoever decided it (an operator, the open-signup rules).
    pub fn builtin(dealership_id: Option<Uuid>, role: Role) -> Self {
        Self {
            dealership_id,
            role,
            custom_role_id: None,
        }
    }
}

/// What a role name comes to on a user: their role (the rank) and custom role, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub role: Role,
    pub custom_role_id: Option<Uuid>,
}

/// Where the scope's caller may add a member of `role` (a user, an invitation), asked for
/// `requested`: the rules of [`placement`], and for a custom role those of [`assigned`].
pub async fn placed(
    scope: &RequestScope,
    role: &RoleName,
    requested: Option<Uuid>,
) -> Result<Placement, AppError> {
    let placed = placed_anywhere(scope, role, requested).await?;
    if let (Reach::Group, Some(dealership)) = (scope.reach(), placed.dealership_id) {
        // in the group's transaction only the group's dealerships are found: 404 otherwise
        dealerships::get(scope, dealership).await?;
    }
    Ok(placed)
}

async fn placed_anywhere(
    scope: &RequestScope,
    role: &RoleName,
    requested: Option<Uuid>,
) -> Result<Placement, AppError> {
    match role {
        RoleName::Builtin(role) => Ok(Placement::builtin(
            placement(scope, *role, requested)?,
            *role,
        )),
        RoleName::Custom(_) => {
            // custom roles are dealership roles, at most of a manager's rank
            let dealership_id = placement(scope, Role::Agent, requested)?;
            let given = assigned(scope, role, dealership_id).await?;
            Ok(Placement {
                dealership_id,
                role: given.role,
                custom_role_id: given.custom_role_id,
            })
        }
    }
}

/// What `role` comes to for a member of `dealership_id`, if the scope's caller may hand it out:
/// 422 for a custom role the dealership does not have (or for an admin), 403 for one with a
/// permission the caller lacks or a base role above the caller's rank.
pub async fn assigned(
    scope: &RequestScope,
    role: &RoleName,
    dealership_id: Option<Uuid>,
) -> Result<Assigned, AppError> {
    let name = match role {
        RoleName::Builtin(role) if role.is_group() => {
            return Err(AppError::field(
                "role",
                "a group role is held in a dealer group: /api/v1/dealer-groups/{id}/members",
            ));
        }
        RoleName::Builtin(role) => {
            return Ok(Assigned {
                role: *role,
                custom_role_id: None,
            });
        }
        RoleName::Custom(name) => name,
    };
    let unknown = || AppError::field("role", "no custom role of this name in the dealership");
    let dealership_id = dealership_id.ok_or_else(unknown)?;
    let found = custom_role::Entity::find()
        .filter(custom_role::Column::DealershipId.eq(dealership_id))
        .filter(custom_role::Column::Name.eq(name.as_str()))
        .one(scope.tx())
        .await?
        .ok_or_else(unknown)?;
    outranks(scope.principal(), found.base_role)?;
    let permissions = held_by(&found);
    scope.holds(&permissions)?;
    // a machine never hands out what only people may do: through a person it made, it would
    // make service accounts, webhooks or invitations after all
    if scope.principal().service_account.is_some()
        && permissions
            .iter()
            .any(|p| !p.resource.open_to_machines(p.action))
    {
        return Err(AppError::Forbidden);
    }
    Ok(Assigned {
        role: found.base_role,
        custom_role_id: Some(found.id),
    })
}

/// The built-in roles `who` may hand out (what a form offers): up to their own rank, and no
/// group role (held in a dealer group, not given here). Where a role does not fit (an admin in
/// a dealership), handing it out answers as [`placed`] and [`assigned`] do.
pub fn builtin_offered(who: &Principal) -> Vec<Role> {
    Role::iter()
        .filter(|role| !role.is_group() && outranks(who, *role).is_ok())
        .collect()
}

/// Whether the scope's caller may hand custom role `role` out ([`assigned`]'s rules: its base
/// role within their rank, every permission held by them), for a form's choices.
pub fn offered(scope: &RequestScope, role: &custom_role::Model) -> bool {
    outranks(scope.principal(), role.base_role).is_ok() && scope.holds(&held_by(role)).is_ok()
}
