//! Dealerships, the tenants: the platform creates, suspends and removes them; members read
//! their own, and principals edit its profile. Suspension ends every session of its users.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set, Statement,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    auth::{principal::Principal, sessions::Revoked},
    authz::Reach,
    domain::{DealershipName, Email, Phone, Role},
    entity::dealership,
    error::{AppError, conflict_if_duplicate},
    scope::RequestScope,
    service::{Page, audit},
    tenancy::in_scope_dealerships,
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

/// What an edit may switch beside the profile: `is_active` (platform only; `false` suspends)
/// and `mfa_required` (every user must sign in with a second factor).
#[derive(Debug, Default, Clone, Copy)]
pub struct Switches {
    pub is_active: Option<bool>,
    pub mfa_required: Option<bool>,
}

fn visible(who: &Principal, reach: Reach) -> Select<dealership::Entity> {
    let query = dealership::Entity::find().filter(dealership::Column::DeletedAt.is_null());
    match reach {
        Reach::Any => query,
        Reach::Group => query.filter(in_scope_dealerships("dealerships.id")),
        Reach::Dealership | Reach::Own => {
            query.filter(dealership::Column::Id.eq(who.dealership_id))
        }
    }
}

pub async fn list(
    scope: &RequestScope,
    page: Page,
) -> Result<(Vec<dealership::Model>, u64), AppError> {
    let (who, reach, tx) = (scope.principal(), scope.reach(), scope.tx());
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

pub async fn get(scope: &RequestScope, id: Uuid) -> Result<dealership::Model, AppError> {
    visible(scope.principal(), scope.reach())
        .filter(dealership::Column::Id.eq(id))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("dealership"))
}

pub async fn create(scope: &RequestScope, profile: Profile) -> Result<dealership::Model, AppError> {
    if scope.reach() != Reach::Any {
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
    .insert(scope.tx())
    .await
    .map_err(|e| conflict_if_duplicate(e, "a dealership with this name"))?;
    let changes = json!({"name": created.name, "address": created.address,
        "contact_email": created.contact_email, "contact_phone": created.contact_phone});
    record(scope, "dealership.created", created.id, changes).await?;
    Ok(created)
}

/// Whether `who` may switch a dealership's MFA requirement: an admin's or the dealership's
/// principal's decision, whatever a custom role may edit.
pub fn decides_mfa(who: &Principal) -> bool {
    matches!(who.role, Role::Admin | Role::Principal)
}

/// Edits the profile, and (platform only) `is_active`: `false` suspends the dealership.
pub async fn update(
    scope: &RequestScope,
    id: Uuid,
    profile: Profile,
    switches: Switches,
) -> Result<dealership::Model, AppError> {
    let Switches {
        is_active,
        mfa_required,
    } = switches;
    let target = get(scope, id).await?;
    if is_active.is_some() && scope.reach() != Reach::Any {
        return Err(AppError::Forbidden);
    }
    let suspend = is_active == Some(false) && target.is_active;
    let mfa_changed = mfa_required.filter(|m| *m != target.mfa_required);
    if mfa_required.is_some() && !decides_mfa(scope.principal()) {
        return Err(AppError::Forbidden);
    }
    if suspend || mfa_changed.is_some() {
        scope.require_step_up().await?;
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
    if let Some(required) = mfa_changed {
        diff.insert(
            "mfa_required".into(),
            json!({"before": target.mfa_required, "after": required}),
        );
        active.mfa_required = Set(required);
    }
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
        .update(scope.tx())
        .await
        .map_err(|e| conflict_if_duplicate(e, "a dealership with this name"))?;
    if suspend {
        let ended = end_sessions(scope, id, Ending::All).await?;
        diff.insert("sessions_ended".into(), json!(ended));
    } else if mfa_changed == Some(true) {
        let ended = end_sessions(scope, id, Ending::WithoutSecondFactor).await?;
        diff.insert("sessions_ended".into(), json!(ended));
    }
    record(scope, "dealership.updated", id, Value::Object(diff)).await?;
    Ok(updated)
}

/// Soft delete: suspended, hidden, its name free again, every session of its users ended.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    if scope.reach() != Reach::Any {
        return Err(AppError::Forbidden);
    }
    let target = get(scope, id).await?;
    scope.require_step_up().await?;
    let mut active = target.clone().into_active_model();
    active.deleted_at = Set(Some(Utc::now()));
    active.is_active = Set(false);
    // out of its group too: a deleted dealership is no group's (nor keeps one from going)
    active.group_id = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(scope.tx()).await?;
    let ended = end_sessions(scope, id, Ending::All).await?;
    record(
        scope,
        "dealership.deleted",
        id,
        json!({"name": target.name, "sessions_ended": ended}),
    )
    .await
}

/// Which of a dealership's sessions end: all (a suspension), or those that never proved a
/// second factor (the dealership now requires one).
enum Ending {
    All,
    WithoutSecondFactor,
}

async fn end_sessions(scope: &RequestScope, id: Uuid, which: Ending) -> Result<u64, AppError> {
    let (reason, without_otp) = match which {
        Ending::All => ("dealership_suspended", false),
        Ending::WithoutSecondFactor => ("mfa_required", true),
    };
    let ended = scope
        .tx()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $2 \
             WHERE dealership_id = $1 AND revoked_at IS NULL AND (NOT $3 OR mfa_at IS NULL)",
            [id.into(), reason.into(), without_otp.into()],
        ))
        .await?
        .rows_affected();
    scope.revoke(Revoked::Dealership(id)).await?;
    Ok(ended)
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    id: Uuid,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: Some(id),
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "dealership",
        target_id: Some(id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}
