//! Custom roles: a dealership's principal (or an admin) defines named roles for the dealership,
//! each a base role (`manager` or `agent`, whose rank it has) plus permissions. Nobody defines
//! or widens a role with a permission they do not hold themselves at that scope
//! ([`RequestScope::holds`]); nothing at `any` scope fits a dealership's role. A change takes
//! effect on this replica at commit and on every other through the `custom_roles` trigger's
//! notice. Handing a role out is [`assign`].

pub mod assign;

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set,
};
use serde_json::{Map, json};
use uuid::Uuid;

use super::users::manage::{outranks, placement, revoke_invitations_sent_by};
use crate::{
    authz::{Action, Permission, Reach, Resource},
    domain::{CustomRoleName, Role},
    entity::{custom_role, dealership, invitation, membership, service_account, user},
    error::{AppError, conflict_if_duplicate},
    scope::RequestScope,
    service::{Page, audit},
    tenancy::in_scope_dealerships,
};

pub struct NewRole {
    pub name: CustomRoleName,
    pub base: Role,
    pub permissions: Vec<Permission>,
    pub dealership_id: Option<Uuid>,
}

/// The fields of an edit; `None` leaves a field as it is. The base role stays: it is the rank
/// of everyone holding the role.
#[derive(Default)]
pub struct RoleChange {
    pub name: Option<CustomRoleName>,
    /// The whole new set.
    pub permissions: Option<Vec<Permission>>,
}

const TAKEN: &str = "a role of this name in the dealership";
/// Every change rebuilds the enforcer on every replica: a dealership keeps to a few.
const MAX_PER_DEALERSHIP: u64 = 100;

/// Defines a role in the caller's dealership (an admin names it).
pub async fn create(scope: &RequestScope, new: NewRole) -> Result<custom_role::Model, AppError> {
    if !matches!(new.base, Role::Manager | Role::Agent) {
        return Err(AppError::field("base_role", "must be manager or agent"));
    }
    scope.require_step_up().await?;
    let permissions = fitting(new.permissions)?;
    scope.holds(&permissions)?;
    let dealership_id = placement(scope, new.base, new.dealership_id)?
        .ok_or_else(|| AppError::field("dealership_id", "is required"))?;
    let live = dealership::Entity::find_by_id(dealership_id)
        .one(scope.tx())
        .await?
        .is_some_and(|d| d.deleted_at.is_none());
    if !live {
        return Err(AppError::NotFound("dealership"));
    }
    let defined = custom_role::Entity::find()
        .filter(custom_role::Column::DealershipId.eq(dealership_id))
        .count(scope.tx())
        .await?;
    if defined >= MAX_PER_DEALERSHIP {
        return Err(AppError::Conflict(format!(
            "the dealership has {MAX_PER_DEALERSHIP} custom roles already; delete one first"
        )));
    }
    let now = Utc::now();
    let created = custom_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(dealership_id),
        name: Set(new.name.into_inner()),
        base_role: Set(new.base),
        permissions: Set(stored(&permissions)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(scope.tx())
    .await
    .map_err(|e| conflict_if_duplicate(e, TAKEN))?;
    scope.roles_changed();
    let changes = json!({
        "name": created.name, "base_role": created.base_role, "permissions": created.permissions,
    });
    record(scope, "role.created", &created, changes).await?;
    Ok(created)
}

/// The roles the caller can see, by name; and their total.
pub async fn list(
    scope: &RequestScope,
    dealership_id: Option<Uuid>,
    page: Page,
) -> Result<(Vec<custom_role::Model>, u64), AppError> {
    let mut query = visible(scope);
    if let (Reach::Any | Reach::Group, Some(d)) = (scope.reach(), dealership_id) {
        query = query.filter(custom_role::Column::DealershipId.eq(d));
    }
    let total = query.clone().count(scope.tx()).await?;
    let page = query
        .order_by_asc(custom_role::Column::DealershipId)
        .order_by_asc(custom_role::Column::Name)
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    Ok((page, total))
}

/// Role `id` if it is within the caller's reach (404 otherwise, as for another dealership's).
pub async fn get(scope: &RequestScope, id: Uuid) -> Result<custom_role::Model, AppError> {
    visible(scope)
        .filter(custom_role::Column::Id.eq(id))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("role"))
}

/// Renames the role or replaces its permissions. Whoever holds it keeps it (users name it by
/// id); a permission it gains must be one the caller holds.
pub async fn update(
    scope: &RequestScope,
    id: Uuid,
    change: RoleChange,
) -> Result<custom_role::Model, AppError> {
    let found = get(scope, id).await?;
    governs(scope, &found)?;
    scope.require_step_up().await?;
    let mut diff = Map::new();
    let mut active = found.clone().into_active_model();
    if let Some(name) = change.name.filter(|n| n.as_str() != found.name) {
        diff.insert(
            "name".into(),
            json!({"before": found.name, "after": name.as_str()}),
        );
        active.name = Set(name.into_inner());
    }
    if let Some(permissions) = change.permissions {
        let permissions = fitting(permissions)?;
        let before: BTreeSet<Permission> = held_by(&found).into_iter().collect();
        let gained: Vec<Permission> = permissions
            .iter()
            .filter(|p| !before.contains(p))
            .copied()
            .collect();
        scope.holds(&gained)?;
        let after = stored(&permissions);
        if permissions.len() < before.len() || !before.iter().all(|p| permissions.contains(p)) {
            // invitations stand on their sender's authority, which has just narrowed
            revoke_invitations_of_holders(scope, id).await?;
        }
        if after != found.permissions {
            let (added, removed) = (
                missing(&found.permissions, &after),
                missing(&after, &found.permissions),
            );
            diff.insert(
                "permissions".into(),
                json!({"before": found.permissions, "after": after, "added": added, "removed": removed}),
            );
            active.permissions = Set(after);
        }
    }
    if diff.is_empty() {
        return Ok(found);
    }
    active.updated_at = Set(Utc::now());
    let updated = active
        .update(scope.tx())
        .await
        .map_err(|e| conflict_if_duplicate(e, TAKEN))?;
    scope.roles_changed();
    record(
        scope,
        "role.updated",
        &updated,
        serde_json::Value::Object(diff),
    )
    .await?;
    Ok(updated)
}

/// Deletes a role nobody holds: 409 naming how many users and pending invitations still do.
/// Deleted users let go of it; invitations no longer pending keep their base role.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let tx = scope.tx();
    // locked: a user or an invitation given the role meanwhile waits, then finds it gone
    let found = visible(scope)
        .filter(custom_role::Column::Id.eq(id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(AppError::NotFound("role"))?;
    governs(scope, &found)?;
    scope.require_step_up().await?;
    let holders = user::Entity::find()
        .filter(user::Column::CustomRoleId.eq(id))
        .filter(user::Column::DeletedAt.is_null())
        .count(tx)
        .await?;
    let now = Utc::now();
    let invited = invitation::Entity::find()
        .filter(invitation::Column::CustomRoleId.eq(id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .count(tx)
        .await?;
    // a revoked service account keeps no role (the key drops it)
    let machines = service_account::Entity::find()
        .filter(service_account::Column::CustomRoleId.eq(id))
        .filter(service_account::Column::RevokedAt.is_null())
        .count(tx)
        .await?;
    if holders + invited + machines > 0 {
        return Err(AppError::Conflict(format!(
            "the role is held by {holders} user(s), {invited} pending invitation(s) and \
             {machines} service account(s); give them another role first"
        )));
    }
    membership::Entity::update_many()
        .col_expr(
            membership::Column::CustomRoleId,
            Option::<Uuid>::None.into(),
        )
        .filter(membership::Column::CustomRoleId.eq(id))
        .exec(tx)
        .await?;
    custom_role::Entity::delete_by_id(id).exec(tx).await?;
    scope.roles_changed();
    let changes = json!({
        "name": found.name, "base_role": found.base_role, "permissions": found.permissions,
    });
    record(scope, "role.deleted", &found, changes).await
}

/// Only someone who could have defined `role` reshapes or deletes it: of its base role's rank
/// or above, holding every one of its permissions (so nobody strips, or renames to mislead,
/// what they could not hand out).
fn governs(scope: &RequestScope, role: &custom_role::Model) -> Result<(), AppError> {
    outranks(scope.principal(), role.base_role)?;
    scope.holds(&held_by(role))
}

/// Revokes the pending invitations sent by holders of role `id`.
async fn revoke_invitations_of_holders(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let holders = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::CustomRoleId.eq(id))
        .into_query();
    let sent_by = invitation::Column::InvitedBy.in_subquery(holders);
    revoke_invitations_sent_by(scope.tx(), sent_by).await
}

/// The role's permissions as the enforcer reads them.
pub fn held_by(role: &custom_role::Model) -> Vec<Permission> {
    role.permissions
        .iter()
        .filter_map(|p| Permission::parse(p))
        .collect()
}

/// Every permission the caller may put in a role of their dealership: one a dealership's role
/// may hold ([`fitting`]) that the caller holds themselves ([`RequestScope::holds`]) — what a
/// form offers, so it offers nothing [`create`] or [`update`] would refuse for that reason.
pub fn grantable(scope: &RequestScope) -> Vec<Permission> {
    let every = Resource::ALL.iter().flat_map(|&resource| {
        Action::ALL.iter().flat_map(move |&action| {
            Reach::ALL.iter().map(move |&reach| Permission {
                resource,
                action,
                reach,
            })
        })
    });
    every
        .filter(|p| fitting(vec![*p]).is_ok() && scope.holds(&[*p]).is_ok())
        .collect()
}

/// Sorted, without repeats; 422 for anything at `any` scope, and for `self` where a resource
/// has no record of one's own (invitations and roles are the dealership's).
fn fitting(permissions: Vec<Permission>) -> Result<Vec<Permission>, AppError> {
    if permissions.iter().any(|p| !p.fits_a_dealership()) {
        return Err(AppError::field(
            "permissions",
            "a dealership's role acts within the dealership: scope must be self or dealership",
        ));
    }
    let own_less = [
        Resource::Invitations,
        Resource::Roles,
        Resource::AccessReview,
    ];
    if permissions
        .iter()
        .any(|p| p.reach == Reach::Own && own_less.contains(&p.resource))
    {
        return Err(AppError::field(
            "permissions",
            "invitations, roles and the access review have no `self` scope: use dealership",
        ));
    }
    let set: BTreeSet<Permission> = permissions.into_iter().collect();
    Ok(set.into_iter().collect())
}

/// The permissions of `of` that `rows` lacks, in `of`'s (sorted) order: the audit's diff.
fn missing(rows: &[String], of: &[String]) -> Vec<String> {
    of.iter().filter(|p| !rows.contains(p)).cloned().collect()
}

fn stored(permissions: &[Permission]) -> Vec<String> {
    permissions.iter().map(|p| p.stored()).collect()
}

/// RLS already confines a tenant transaction; the explicit condition says the same.
fn visible(scope: &RequestScope) -> Select<custom_role::Entity> {
    let query = custom_role::Entity::find();
    match (scope.reach(), scope.principal().dealership_id) {
        (Reach::Any, _) => query,
        (Reach::Group, _) => query.filter(in_scope_dealerships("custom_roles.dealership_id")),
        (_, Some(d)) => query.filter(custom_role::Column::DealershipId.eq(d)),
        (_, None) => query.filter(custom_role::Column::Id.is_null()),
    }
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    target: &custom_role::Model,
    changes: serde_json::Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: Some(target.dealership_id),
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "role",
        target_id: Some(target.id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}
