//! Dealerships, the tenants: the platform creates, suspends and removes them; members read
//! their own, and principals edit its profile. Suspension ends every session of its users.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set, Statement,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    auth::{
        principal::Principal,
        revocation::{self, Revoked},
    },
    authz::Reach,
    domain::{DealershipName, Email, Phone},
    entity::dealership,
    error::{AppError, conflict_if_duplicate},
    service::{Page, RequestMeta, audit},
};

/// Profile fields, validated; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct Profile {
    pub name: Option<DealershipName>,
    /// Up to 500 characters of text, line breaks allowed.
    pub address: Option<Option<String>>,
    pub contact_email: Option<Option<Email>>,
    pub contact_phone: Option<Option<Phone>>,
}

fn visible(who: &Principal, reach: Reach) -> Select<dealership::Entity> {
    let query = dealership::Entity::find().filter(dealership::Column::DeletedAt.is_null());
    match reach {
        Reach::Any => query,
        Reach::Dealership | Reach::Own => {
            query.filter(dealership::Column::Id.eq(who.dealership_id))
        }
    }
}

pub async fn list(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    page: Page,
) -> Result<(Vec<dealership::Model>, u64), AppError> {
    let total = visible(who, reach).count(tx).await?;
    let rows = visible(who, reach)
        .order_by_desc(dealership::Column::CreatedAt)
        .order_by_desc(dealership::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(tx)
        .await?;
    Ok((rows, total))
}

pub async fn get(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
) -> Result<dealership::Model, AppError> {
    visible(who, reach)
        .filter(dealership::Column::Id.eq(id))
        .one(tx)
        .await?
        .ok_or(AppError::NotFound("dealership"))
}

pub async fn create(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    profile: Profile,
    meta: &RequestMeta,
) -> Result<dealership::Model, AppError> {
    if reach != Reach::Any {
        return Err(AppError::Forbidden);
    }
    let name = profile
        .name
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("name is validated as required")))?;
    let created = dealership::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.into_inner()),
        address: Set(profile.address.flatten()),
        contact_email: Set(profile.contact_email.flatten().map(Email::into_inner)),
        contact_phone: Set(profile.contact_phone.flatten().map(Phone::into_inner)),
        ..Default::default()
    }
    .insert(tx)
    .await
    .map_err(|e| conflict_if_duplicate(e, "a dealership with this name"))?;
    let changes = json!({"name": created.name, "address": created.address,
        "contact_email": created.contact_email, "contact_phone": created.contact_phone});
    record(tx, who, meta, "dealership.created", created.id, changes).await?;
    Ok(created)
}

/// Edits the profile, and (platform only) `is_active`: `false` suspends the dealership.
pub async fn update(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    profile: Profile,
    is_active: Option<bool>,
    meta: &RequestMeta,
) -> Result<dealership::Model, AppError> {
    let target = get(tx, who, reach, id).await?;
    if is_active.is_some() && reach != Reach::Any {
        return Err(AppError::Forbidden);
    }
    let mut diff = Map::new();
    let mut active = target.clone().into_active_model();
    if let Some(name) = profile
        .name
        .map(DealershipName::into_inner)
        .filter(|n| *n != target.name)
    {
        diff.insert("name".into(), json!({"before": target.name, "after": name}));
        active.name = Set(name);
    }
    let contact_email = profile.contact_email.map(|e| e.map(Email::into_inner));
    let contact_phone = profile.contact_phone.map(|p| p.map(Phone::into_inner));
    for (field, before, after) in [
        ("address", &target.address, profile.address),
        ("contact_email", &target.contact_email, contact_email),
        ("contact_phone", &target.contact_phone, contact_phone),
    ] {
        if let Some(after) = after.filter(|a| a != before) {
            diff.insert(field.into(), json!({"before": before, "after": after}));
            match field {
                "address" => active.address = Set(after),
                "contact_email" => active.contact_email = Set(after),
                _ => active.contact_phone = Set(after),
            }
        }
    }
    let suspend = is_active == Some(false) && target.is_active;
    if let Some(is_active) = is_active.filter(|a| *a != target.is_active) {
        diff.insert(
            "is_active".into(),
            json!({"before": target.is_active, "after": is_active}),
        );
        active.is_active = Set(is_active);
    }
    if diff.is_empty() {
        return Ok(target);
    }
    active.updated_at = Set(Utc::now());
    let updated = active
        .update(tx)
        .await
        .map_err(|e| conflict_if_duplicate(e, "a dealership with this name"))?;
    if suspend {
        let ended = end_all_sessions(tx, id).await?;
        diff.insert("sessions_ended".into(), json!(ended));
    }
    record(tx, who, meta, "dealership.updated", id, Value::Object(diff)).await?;
    Ok(updated)
}

/// Soft delete: suspended, hidden, its name free again, every session of its users ended.
pub async fn delete(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if reach != Reach::Any {
        return Err(AppError::Forbidden);
    }
    let target = get(tx, who, reach, id).await?;
    let mut active = target.clone().into_active_model();
    active.deleted_at = Set(Some(Utc::now()));
    active.is_active = Set(false);
    active.updated_at = Set(Utc::now());
    active.update(tx).await?;
    let ended = end_all_sessions(tx, id).await?;
    record(
        tx,
        who,
        meta,
        "dealership.deleted",
        id,
        json!({"name": target.name, "sessions_ended": ended}),
    )
    .await
}

async fn end_all_sessions(tx: &DatabaseTransaction, id: Uuid) -> Result<u64, AppError> {
    let ended = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sessions SET revoked_at = now(), revoked_reason = 'dealership_suspended' \
             WHERE dealership_id = $1 AND revoked_at IS NULL",
            [id.into()],
        ))
        .await?
        .rows_affected();
    revocation::publish(tx, Revoked::Dealership(id)).await?;
    Ok(ended)
}

async fn record(
    tx: &DatabaseTransaction,
    who: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    id: Uuid,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: Some(id),
        actor_id: Some(who.user_id),
        action,
        target_type: "dealership",
        target_id: Some(id),
        changes: Some(changes),
    };
    audit::record(tx, meta, event).await
}
