//! Group memberships: a person's `group_principal` or `group_manager` role in a group, across
//! every dealership of it. A `memberships` row with the group and no dealership, so its
//! sessions, last sign-in, audit trail and the per-request session check are a membership's.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{changing, find, record};
use crate::{
    domain::{Email, Role},
    entity::{membership, user},
    error::{AppError, conflict_if_duplicate},
    scope::RequestScope,
    service::{
        Page, sessions,
        users::{directory, manage},
    },
};

/// The group's live members, newest first, and how many there are.
pub async fn members(
    scope: &RequestScope,
    group_id: Uuid,
    page: Page,
) -> Result<(Vec<user::Model>, u64), AppError> {
    find(scope, group_id).await?;
    let query = user::Entity::find()
        .filter(user::Column::GroupId.eq(group_id))
        .filter(user::Column::DeletedAt.is_null())
        .order_by_desc(user::Column::CreatedAt)
        .order_by_desc(user::Column::Id);
    let total = query.clone().count(scope.tx()).await?;
    let rows = query
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    Ok((rows, total))
}

/// A live membership of the person with `email` (any of theirs: [`add_member`] takes any), for
/// a form that names the person to add by email; 422 on `email` if nobody has it.
pub async fn membership_of(scope: &RequestScope, email: &Email) -> Result<Uuid, AppError> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DeletedAt.is_null())
        .order_by_asc(user::Column::CreatedAt)
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .one(scope.tx())
        .await?
        .ok_or_else(|| AppError::field("email", "nobody has this email"))
}

/// Gives the person of membership `user_id` the group role `role` in group `group_id`: 422 for
/// a role that is not a group role, 404 for an unknown membership, 409 if they hold one there.
pub async fn add_member(
    scope: &RequestScope,
    group_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<user::Model, AppError> {
    find(scope, group_id).await?;
    if !role.is_group() {
        return Err(AppError::field(
            "role",
            "must be group_principal or group_manager",
        ));
    }
    changing(scope).await?;
    let colleague = directory::get(scope, user_id).await?;
    if colleague.role == Role::Admin {
        return Err(AppError::field("user_id", "an admin holds no group role"));
    }
    let now = Utc::now();
    let added = membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(colleague.person_id),
        dealership_id: Set(None),
        group_id: Set(Some(group_id)),
        role: Set(role),
        custom_role_id: Set(None),
        is_active: Set(true),
        last_login: Set(None),
        added_by: Set(Some(scope.principal().user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        // a new membership's clock starts now (the column's default)
        ..Default::default()
    }
    .insert(scope.tx())
    .await
    .map_err(|e| conflict_if_duplicate(e, "a group membership of this person"))?;
    let changes = json!({ "group_id": group_id, "role": role, "person_id": colleague.person_id });
    record(scope, "group_membership.created", "user", added.id, changes).await?;
    directory::get(scope, added.id).await
}

/// Ends group membership `member_id` of group `group_id`, and its sessions on every replica.
pub async fn remove_member(
    scope: &RequestScope,
    group_id: Uuid,
    member_id: Uuid,
) -> Result<(), AppError> {
    find(scope, group_id).await?;
    changing(scope).await?;
    let target = membership::Entity::find_by_id(member_id)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::DeletedAt.is_null())
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("group membership"))?;
    let role = target.role;
    let mut active = target.into_active_model();
    active.deleted_at = Set(Some(Utc::now()));
    active.is_active = Set(false);
    active.updated_at = Set(Utc::now());
    active.update(scope.tx()).await?;
    sessions::end_all(scope, member_id, None, None, "group_membership_ended").await?;
    // what they sent as the group's principal is not theirs to keep sending
    manage::revoke_invitations_of(scope.tx(), member_id).await?;
    let changes = json!({ "group_id": group_id, "role": role });
    record(
        scope,
        "group_membership.deleted",
        "user",
        member_id,
        changes,
    )
    .await
}
