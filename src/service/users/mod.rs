//! Users: lookup for login, the caller's own profile and password, and (in submodules) the
//! staff directory and its management.

pub mod directory;
pub mod edit;
pub mod manage;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel,
    QueryFilter, Set, Statement,
};
use uuid::Uuid;

use crate::{
    domain::{Email, PersonName, Phone, SignInName},
    entity::{dealership, user},
    error::{AppError, conflict_naming},
    tenancy::TenantTx,
};

/// The unique index of live users' phones (migration `m20261201_000009_sign_in_by_phone`).
const PHONE_KEY: &str = "users_phone_key";

/// What the definer lookup returns for a login, before any tenant is known.
#[derive(Debug, FromQueryResult)]
pub struct LoginCandidate {
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub password_hash: String,
}

/// The live user who signs in as `name`, through the definer lookup of its kind.
pub async fn login_candidate(
    tx: &TenantTx,
    name: &SignInName,
) -> Result<Option<LoginCandidate>, AppError> {
    let lookup = match name {
        SignInName::Email(_) => "SELECT * FROM auth_login_lookup($1)",
        SignInName::Phone(_) => "SELECT * FROM auth_phone_login_lookup($1)",
    };
    Ok(
        LoginCandidate::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            lookup,
            [name.as_str().into()],
        ))
        .one(tx)
        .await?,
    )
}

/// Every name `user` can sign in with: the email, and the phone if there is one. Stored values
/// were valid when written; one that no longer parses is no name to sign in with.
pub fn sign_in_names(user: &user::Model) -> Vec<SignInName> {
    let email = Email::parse(&user.email).ok().map(SignInName::Email);
    let phone = user.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    email
        .into_iter()
        .chain(phone.map(SignInName::Phone))
        .collect()
}

/// A write to `users` that hit a unique key: 409 naming the phone or the email, whichever is
/// taken by another live user.
pub fn conflict_if_taken(err: sea_orm::DbErr) -> AppError {
    conflict_naming(err, |constraint| match constraint {
        Some(PHONE_KEY) => "a user with this phone number",
        _ => "a user with this email",
    })
}

/// The user if they may be signed in: active, not deleted, and of an active dealership.
pub async fn find_signable(tx: &TenantTx, id: Uuid) -> Result<Option<user::Model>, AppError> {
    let Some(user) = user::Entity::find_by_id(id)
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::IsActive.eq(true))
        .one(tx)
        .await?
    else {
        return Ok(None);
    };
    if let Some(dealership_id) = user.dealership_id {
        let active = dealership::Entity::find_by_id(dealership_id)
            .filter(dealership::Column::DeletedAt.is_null())
            .filter(dealership::Column::IsActive.eq(true))
            .one(tx)
            .await?
            .is_some();
        if !active {
            return Ok(None);
        }
    }
    Ok(Some(user))
}

/// Records a sign-in now: the user as stored after it, so the sign-in's answer shows it.
pub async fn touch_last_login(tx: &TenantTx, user: user::Model) -> Result<user::Model, AppError> {
    let mut touched: user::ActiveModel = user.into();
    touched.last_login = Set(Some(Utc::now()));
    // the row as stored (RETURNING): the time at the database's precision
    Ok(touched.update(tx).await?)
}

/// Profile fields a user may change on themselves; `None` leaves a field as it is, and
/// `phone: Some(None)` clears the phone.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone: Option<Option<Phone>>,
}

/// Applies `change`; returns the updated user and the before/after of what changed.
pub async fn update_profile(
    tx: &TenantTx,
    user: user::Model,
    change: ProfileChange,
) -> Result<(user::Model, serde_json::Value), AppError> {
    let mut diff = serde_json::Map::new();
    let mut active = user.clone().into_active_model();
    let first_name = change.first_name.map(PersonName::into_inner);
    if let Some(first) = first_name.filter(|v| *v != user.first_name) {
        diff.insert(
            "first_name".into(),
            serde_json::json!({"before": user.first_name, "after": first}),
        );
        active.first_name = Set(first);
    }
    let last_name = change.last_name.map(PersonName::into_inner);
    if let Some(last) = last_name.filter(|v| *v != user.last_name) {
        diff.insert(
            "last_name".into(),
            serde_json::json!({"before": user.last_name, "after": last}),
        );
        active.last_name = Set(last);
    }
    if let Some(phone) = change.phone {
        let phone = phone.map(Phone::into_inner);
        if phone != user.phone {
            diff.insert(
                "phone".into(),
                serde_json::json!({"before": user.phone, "after": phone}),
            );
            active.phone = Set(phone);
        }
    }
    if diff.is_empty() {
        return Ok((user, serde_json::Value::Object(diff)));
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(tx).await.map_err(conflict_if_taken)?;
    Ok((updated, serde_json::Value::Object(diff)))
}

pub async fn set_password_hash(tx: &TenantTx, id: Uuid, hash: String) -> Result<(), AppError> {
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(id))
        .exec(tx)
        .await?;
    Ok(())
}
