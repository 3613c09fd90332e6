//! Dealer groups: dealerships that belong together, and who holds a group role in them. A
//! platform matter (admins, at `any` reach, with a recent second factor for every change);
//! every change audited. A dealership is in at most one group; moving one in or out changes a
//! group's reach from the next transaction on, everywhere: a group's transaction reads the
//! set of its dealerships as it opens (`group_dealerships`), nothing caches it.

mod members;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

pub use members::{add_member, members, membership_of, remove_member};

use crate::{
    authz::Reach,
    domain::DealershipName,
    entity::{dealer_group, dealership, membership},
    error::{AppError, conflict_if_duplicate},
    scope::RequestScope,
    service::{Page, audit, dealerships},
};

/// A group and the dealerships in it.
pub struct Group {
    pub group: dealer_group::Model,
    pub dealership_ids: Vec<Uuid>,
}

/// 403 unless the caller acts at platform reach: groups are the platform's to arrange.
fn platform(scope: &RequestScope) -> Result<(), AppError> {
    match scope.reach() {
        Reach::Any => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// A change: platform reach and a recent second factor.
async fn changing(scope: &RequestScope) -> Result<(), AppError> {
    platform(scope)?;
    scope.require_step_up().await
}

async fn with_dealerships(
    scope: &RequestScope,
    group: dealer_group::Model,
) -> Result<Group, AppError> {
    let dealership_ids = dealership::Entity::find()
        .filter(dealership::Column::GroupId.eq(group.id))
        .filter(dealership::Column::DeletedAt.is_null())
        .order_by_asc(dealership::Column::Name)
        .select_only()
        .column(dealership::Column::Id)
        .into_tuple()
        .all(scope.tx())
        .await?;
    Ok(Group {
        group,
        dealership_ids,
    })
}

pub async fn list(scope: &RequestScope, page: Page) -> Result<(Vec<Group>, u64), AppError> {
    platform(scope)?;
    let query = dealer_group::Entity::find().order_by_asc(dealer_group::Column::Name);
    let total = query.clone().count(scope.tx()).await?;
    let rows = query
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    // every listed group's dealerships in one query, not one per group
    let ids: Vec<Uuid> = rows.iter().map(|g| g.id).collect();
    let members: Vec<(Uuid, Option<Uuid>)> = dealership::Entity::find()
        .filter(dealership::Column::GroupId.is_in(ids))
        .filter(dealership::Column::DeletedAt.is_null())
        .order_by_asc(dealership::Column::Name)
        .select_only()
        .column(dealership::Column::Id)
        .column(dealership::Column::GroupId)
        .into_tuple()
        .all(scope.tx())
        .await?;
    let groups = rows
        .into_iter()
        .map(|group| Group {
            dealership_ids: members
                .iter()
                .filter(|(_, g)| *g == Some(group.id))
                .map(|(d, _)| *d)
                .collect(),
            group,
        })
        .collect();
    Ok((groups, total))
}

async fn find(scope: &RequestScope, id: Uuid) -> Result<dealer_group::Model, AppError> {
    platform(scope)?;
    dealer_group::Entity::find_by_id(id)
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("dealer group"))
}

pub async fn get(scope: &RequestScope, id: Uuid) -> Result<Group, AppError> {
    let group = find(scope, id).await?;
    with_dealerships(scope, group).await
}

/// The group's live dealerships, by name.
pub async fn dealerships(
    scope: &RequestScope,
    id: Uuid,
) -> Result<Vec<dealership::Model>, AppError> {
    find(scope, id).await?;
    Ok(dealership::Entity::find()
        .filter(dealership::Column::GroupId.eq(id))
        .filter(dealership::Column::DeletedAt.is_null())
        .order_by_asc(dealership::Column::Name)
        .all(scope.tx())
        .await?)
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    target_type: &'static str,
    target_id: Uuid,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: None,
        actor_id: Some(scope.principal().user_id),
        action,
        target_type,
        target_id: Some(target_id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}

pub async fn create(scope: &RequestScope, name: DealershipName) -> Result<Group, AppError> {
    changing(scope).await?;
    let now = Utc::now();
    let created = dealer_group::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.into_inner()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(scope.tx())
    .await
    .map_err(|e| conflict_if_duplicate(e, "a dealer group with this name"))?;
    let changes = json!({ "name": created.name });
    record(
        scope,
        "dealer_group.created",
        "dealer_group",
        created.id,
        changes,
    )
    .await?;
    with_dealerships(scope, created).await
}

pub async fn rename(
    scope: &RequestScope,
    id: Uuid,
    name: DealershipName,
) -> Result<Group, AppError> {
    let target = find(scope, id).await?;
    changing(scope).await?;
    let name = name.into_inner();
    if name == target.name {
        return with_dealerships(scope, target).await;
    }
    let before = target.name.clone();
    let mut active = target.into_active_model();
    active.name = Set(name.clone());
    active.updated_at = Set(Utc::now());
    let renamed = active
        .update(scope.tx())
        .await
        .map_err(|e| conflict_if_duplicate(e, "a dealer group with this name"))?;
    let changes = json!({ "name": { "before": before, "after": name } });
    record(scope, "dealer_group.renamed", "dealer_group", id, changes).await?;
    with_dealerships(scope, renamed).await
}

/// Deletes an empty group: 409 while a dealership or a live group membership is in it.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let target = find(scope, id).await?;
    changing(scope).await?;
    let group = with_dealerships(scope, target).await?;
    let members = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(id))
        .filter(membership::Column::DeletedAt.is_null())
        .count(scope.tx())
        .await?;
    if !group.dealership_ids.is_empty() || members > 0 {
        return Err(AppError::Conflict(
            "the group still has dealerships or members: remove them first".into(),
        ));
    }
    // ended group memberships lose the group (ON DELETE SET NULL); their audit events stay
    dealer_group::Entity::delete_by_id(id)
        .exec(scope.tx())
        .await?;
    let changes = json!({ "name": group.group.name });
    record(scope, "dealer_group.deleted", "dealer_group", id, changes).await
}

/// Puts dealership `dealership_id` in group `id` (`into`) or takes it out: 409 if it is in
/// another group. The group's members reach it, or no longer do, from the next request on.
pub async fn place(
    scope: &RequestScope,
    id: Uuid,
    dealership_id: Uuid,
    into: bool,
) -> Result<(), AppError> {
    find(scope, id).await?;
    changing(scope).await?;
    let target = dealerships::get(scope, dealership_id).await?;
    let after = match (target.group_id, into) {
        (Some(g), true) if g != id => {
            return Err(AppError::Conflict(
                "the dealership is in another group: take it out of that one first".into(),
            ));
        }
        (Some(_), true) | (None, false) => return Ok(()),
        (None, true) => Some(id),
        (Some(g), false) if g != id => return Err(AppError::NotFound("dealership")),
        (Some(_), false) => None,
    };
    let mut active = target.into_active_model();
    active.group_id = Set(after);
    active.updated_at = Set(Utc::now());
    active.update(scope.tx()).await?;
    let (action, changes) = match after {
        Some(_) => ("dealer_group.dealership_added", json!({ "group_id": id })),
        None => ("dealer_group.dealership_removed", json!({ "group_id": id })),
    };
    let event = audit::Event {
        dealership_id: Some(dealership_id),
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "dealership",
        target_id: Some(dealership_id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}
