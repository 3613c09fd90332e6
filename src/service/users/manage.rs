//! Managing staff: create, edit, deactivate, delete, end sessions. The rank rules hold on each:
//! nobody creates, promotes or edits a user above their own rank, and nobody changes the
//! password, email, role or activity of a user of their own rank or above (a peer must never be
//! able to take a peer's account over). One's own account changes through `/auth/me` and
//! `/auth/password`; an admin's credentials only by its owner or `dealergate admin`.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Set};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{ProfileChange, directory};
use crate::{
    auth::{
        principal::Principal,
        revocation::{self, Revoked},
    },
    authz::Reach,
    domain::{Email, NewPassword, PersonName, Phone, Role},
    entity::{dealership, user},
    error::{AppError, FieldError, conflict_if_duplicate},
    service::{RequestMeta, audit, sessions},
};

/// A validated new user; `password_hash` is computed by the caller off the async threads.
pub struct NewUser {
    pub email: Email,
    pub password: NewPassword,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Option<Phone>,
    pub role: Role,
    pub dealership_id: Option<Uuid>,
}

/// The fields of an edit; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChange {
    pub email: Option<Email>,
    pub profile: ProfileChange,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub password_hash: Option<String>,
}

/// `who` may act on users of `role`'s rank (edit profiles, create, end sessions).
fn outranks(who: &Principal, role: Role) -> Result<(), AppError> {
    if role.rank() > who.role.rank() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// `who` may change the account (password, email, role, activity) of someone of `role`: only
/// strictly below their own rank, so equals cannot take each other over.
fn governs_account_of(who: &Principal, role: Role) -> Result<(), AppError> {
    if role.rank() >= who.role.rank() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Where a new user goes: an admin names the dealership (none for admins); a principal's
/// users join the principal's own dealership, and naming another one finds nothing.
pub async fn create(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    new: NewUser,
    password_hash: String,
    meta: &RequestMeta,
) -> Result<user::Model, AppError> {
    outranks(who, new.role)?;
    let dealership_id = match (reach, new.role) {
        (Reach::Own, _) => return Err(AppError::Forbidden),
        (_, Role::Admin) if new.dealership_id.is_some() => {
            return Err(AppError::Validation(vec![FieldError::new(
                "dealership_id",
                "admins belong to no dealership",
            )]));
        }
        (_, Role::Admin) => None,
        (Reach::Any, _) => Some(new.dealership_id.ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "dealership_id",
                "is required for this role",
            )])
        })?),
        (Reach::Dealership, _) => match new.dealership_id {
            Some(d) if Some(d) != who.dealership_id => {
                return Err(AppError::NotFound("dealership"));
            }
            _ => who.dealership_id,
        },
    };
    let created = insert(tx, new, dealership_id, password_hash).await?;
    let changes = json!({
        "email": created.email, "role": created.role, "dealership_id": created.dealership_id,
        "first_name": created.first_name, "last_name": created.last_name, "phone": created.phone,
    });
    record(tx, who, meta, "user.created", &created, changes).await?;
    Ok(created)
}

/// An operator's user (`dealergate admin create-user`): no caller, no rank; audited as made by
/// no one. `None` if a live user has the email already (nothing changes).
pub async fn create_by_operator(
    tx: &DatabaseTransaction,
    new: NewUser,
    password_hash: String,
    meta: &RequestMeta,
) -> Result<Option<user::Model>, AppError> {
    if super::login_candidate(tx, &new.email).await?.is_some() {
        return Ok(None);
    }
    let dealership_id = new.dealership_id;
    if (new.role == Role::Admin) != dealership_id.is_none() {
        return Err(AppError::Validation(vec![FieldError::new(
            "dealership",
            "admins, and only admins, belong to no dealership",
        )]));
    }
    let created = insert(tx, new, dealership_id, password_hash).await?;
    let event = audit::Event {
        dealership_id: created.dealership_id,
        actor_id: None,
        action: "user.created",
        target_type: "user",
        target_id: Some(created.id),
        changes: Some(json!({"email": created.email, "role": created.role, "by": "operator"})),
    };
    audit::record(tx, meta, event).await?;
    Ok(Some(created))
}

async fn insert(
    tx: &DatabaseTransaction,
    new: NewUser,
    dealership_id: Option<Uuid>,
    password_hash: String,
) -> Result<user::Model, AppError> {
    if let Some(d) = dealership_id {
        let live = dealership::Entity::find_by_id(d)
            .one(tx)
            .await?
            .is_some_and(|d| d.deleted_at.is_none());
        if !live {
            return Err(AppError::NotFound("dealership"));
        }
    }
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(dealership_id),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(password_hash),
        first_name: Set(new.first_name.into_inner()),
        last_name: Set(new.last_name.into_inner()),
        phone: Set(new.phone.map(Phone::into_inner)),
        role: Set(new.role),
        ..Default::default()
    }
    .insert(tx)
    .await
    .map_err(|e| conflict_if_duplicate(e, "a user with this email"))
}

/// Applies `change` to user `id`. Role changes, deactivation and password resets end the
/// user's outstanding tokens at once.
pub async fn update(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    change: UserChange,
    meta: &RequestMeta,
) -> Result<user::Model, AppError> {
    let target = directory::get(tx, who, reach, id).await?;
    apply(tx, who, reach, target, change, meta).await
}

/// Flips user `id`'s `is_active`; deactivation ends their tokens at once. Not on yourself.
pub async fn toggle_active(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<user::Model, AppError> {
    if id == who.user_id {
        return Err(AppError::Validation(vec![FieldError::new(
            "id",
            "you cannot deactivate yourself",
        )]));
    }
    let target = directory::get(tx, who, reach, id).await?;
    let change = UserChange {
        is_active: Some(!target.is_active),
        ..UserChange::default()
    };
    apply(tx, who, reach, target, change, meta).await
}

async fn apply(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    target: user::Model,
    change: UserChange,
    meta: &RequestMeta,
) -> Result<user::Model, AppError> {
    let id = target.id;
    outranks(who, target.role)?;
    if let Some(role) = change.role {
        outranks(who, role)?;
    }
    // on oneself alone (`self` reach) only the profile may change: the login email, role,
    // activity and password are staff decisions (own password: /auth/password)
    let account_change = change.email.is_some()
        || change.role.is_some()
        || change.is_active.is_some()
        || change.password_hash.is_some();
    if reach == Reach::Own && account_change {
        return Err(AppError::Forbidden);
    }
    if id == who.user_id
        && (change.role.is_some_and(|r| r != target.role) || change.is_active == Some(false))
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "id",
            "you cannot change your own role or deactivate yourself",
        )]));
    }
    if id == who.user_id && change.password_hash.is_some() {
        return Err(AppError::Validation(vec![FieldError::new(
            "password",
            "change your own at /api/v1/auth/password",
        )]));
    }
    if id == who.user_id
        && change
            .email
            .as_ref()
            .is_some_and(|e| e.as_str() != target.email)
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "email",
            "change your own at /api/v1/auth/me, with your current password",
        )]));
    }
    let changes_account = change
        .email
        .as_ref()
        .is_some_and(|e| e.as_str() != target.email)
        || change.role.is_some_and(|r| r != target.role)
        || change.is_active.is_some_and(|a| a != target.is_active)
        || change.password_hash.is_some();
    if id != who.user_id && changes_account {
        governs_account_of(who, target.role)?;
    }
    if change.role == Some(Role::Admin) && target.dealership_id.is_some()
        || change.role.is_some_and(|r| r != Role::Admin) && target.dealership_id.is_none()
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "role",
            "admins, and only admins, belong to no dealership",
        )]));
    }

    let mut diff = Map::new();
    let mut active = target.clone().into_active_model();
    let mut invalidate = false;
    if let Some(email) = change.email.filter(|e| e.as_str() != target.email) {
        diff.insert(
            "email".into(),
            json!({"before": target.email, "after": email.as_str()}),
        );
        active.email = Set(email.as_str().to_owned());
    }
    if let Some(role) = change.role.filter(|r| *r != target.role) {
        diff.insert("role".into(), json!({"before": target.role, "after": role}));
        active.role = Set(role);
        invalidate = true;
    }
    if let Some(is_active) = change.is_active.filter(|a| *a != target.is_active) {
        diff.insert(
            "is_active".into(),
            json!({"before": target.is_active, "after": is_active}),
        );
        active.is_active = Set(is_active);
        invalidate |= !is_active;
    }
    if let Some(hash) = change.password_hash {
        diff.insert("password".into(), json!({"changed": true}));
        active.password_hash = Set(hash);
        invalidate = true;
    }
    let profile = change.profile;
    let first_name = profile.first_name.map(PersonName::into_inner);
    let last_name = profile.last_name.map(PersonName::into_inner);
    for (field, before, after) in [
        ("first_name", Some(&target.first_name), first_name.as_ref()),
        ("last_name", Some(&target.last_name), last_name.as_ref()),
    ] {
        if let Some(after) = after.filter(|a| Some(*a) != before) {
            diff.insert(field.into(), json!({"before": before, "after": after}));
        }
    }
    if let Some(first) = first_name {
        active.first_name = Set(first);
    }
    if let Some(last) = last_name {
        active.last_name = Set(last);
    }
    if let Some(phone) = profile
        .phone
        .map(|p| p.map(Phone::into_inner))
        .filter(|p| *p != target.phone)
    {
        diff.insert(
            "phone".into(),
            json!({"before": target.phone, "after": phone}),
        );
        active.phone = Set(phone);
    }
    if diff.is_empty() {
        return Ok(target);
    }
    if invalidate {
        active.token_version = Set(target.token_version + 1);
    }
    active.updated_at = Set(Utc::now());
    let updated = active
        .update(tx)
        .await
        .map_err(|e| conflict_if_duplicate(e, "a user with this email"))?;
    if invalidate {
        sessions::revoke_all(tx, id, None, "user_changed").await?;
        revocation::publish(tx, Revoked::User(id)).await?;
    }
    record(tx, who, meta, "user.updated", &updated, Value::Object(diff)).await?;
    Ok(updated)
}

/// Soft delete: the row stays for the audit trail, the email becomes free, sessions end.
pub async fn delete(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if id == who.user_id {
        return Err(AppError::Validation(vec![FieldError::new(
            "id",
            "you cannot delete yourself",
        )]));
    }
    let target = directory::get(tx, who, reach, id).await?;
    governs_account_of(who, target.role)?;
    let mut active = target.clone().into_active_model();
    active.deleted_at = Set(Some(Utc::now()));
    active.is_active = Set(false);
    active.token_version = Set(target.token_version + 1);
    active.updated_at = Set(Utc::now());
    let deleted = active.update(tx).await?;
    sessions::revoke_all(tx, id, None, "user_deleted").await?;
    revocation::publish(tx, Revoked::User(id)).await?;
    record(
        tx,
        who,
        meta,
        "user.deleted",
        &deleted,
        json!({"email": deleted.email}),
    )
    .await?;
    Ok(())
}

/// Ends every session of user `id` (an admin or principal acting on staff).
pub async fn end_sessions(
    tx: &DatabaseTransaction,
    who: &Principal,
    reach: Reach,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<u64, AppError> {
    let target = directory::get(tx, who, reach, id).await?;
    outranks(who, target.role)?;
    sessions::end_all(
        tx,
        who,
        id,
        target.dealership_id,
        None,
        "revoked_by_staff",
        meta,
    )
    .await
}

async fn record(
    tx: &DatabaseTransaction,
    who: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    target: &user::Model,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: target.dealership_id,
        actor_id: Some(who.user_id),
        action,
        target_type: "user",
        target_id: Some(target.id),
        changes: Some(changes),
    };
    audit::record(tx, meta, event).await
}
