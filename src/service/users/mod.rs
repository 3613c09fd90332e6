//! Users: lookup for login, the caller's own profile and password, and (in submodules) the
//! staff directory and its management.

pub mod directory;
pub mod edit;
pub mod manage;
pub mod people;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Set, Statement,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    domain::{Email, PersonName, Phone, Role, SignInName},
    entity::{
        dealership,
        membership::{self, Place, Summary},
        person, user,
    },
    error::{AppError, conflict_naming},
    tenancy::TenantTx,
};

/// The unique index of live people's phones (migration 000018).
const PHONE_KEY: &str = "people_phone_key";

/// One row of the definer lookup: the person, and one of their live memberships (none: `None`).
#[derive(Debug, FromQueryResult)]
struct CandidateRow {
    person_id: Uuid,
    email: String,
    password_hash: String,
    user_id: Option<Uuid>,
    dealership_id: Option<Uuid>,
    dealership_name: Option<String>,
    role: Option<Role>,
    custom_role_id: Option<Uuid>,
    last_login: Option<chrono::DateTime<Utc>>,
    group_id: Option<Uuid>,
    group_name: Option<String>,
}

/// The live person who signs in as `name`, with the memberships they may sign in to (active,
/// in an active dealership), the last used first. Found before any tenant is known.
#[derive(Debug)]
pub struct LoginCandidate {
    pub person_id: Uuid,
    /// The person's email: every failed sign-in of theirs counts under it, by email or phone.
    pub email: String,
    pub password_hash: String,
    pub memberships: Vec<Summary>,
}

impl LoginCandidate {
    /// The membership a sign-in enters: the one at `place` if named, else the last used.
    pub fn choose(&self, place: Option<Place>) -> Option<&Summary> {
        match place {
            Some(place) => self.memberships.iter().find(|m| m.is_at(place)),
            None => self.memberships.first(),
        }
    }
}

/// The person who signs in as `name`, through the definer lookup of its kind (one query).
pub async fn login_candidate(
    tx: &TenantTx,
    name: &SignInName,
) -> Result<Option<LoginCandidate>, AppError> {
    let lookup = match name {
        SignInName::Email(_) => "SELECT * FROM auth_login_lookup($1)",
        SignInName::Phone(_) => "SELECT * FROM auth_phone_login_lookup($1)",
    };
    let rows = CandidateRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        lookup,
        [name.as_str().into()],
    ))
    .all(tx)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (person_id, password_hash) = (first.person_id, first.password_hash.clone());
    let email = first.email.clone();
    let memberships = rows
        .into_iter()
        .filter_map(|r| {
            Some(Summary {
                user_id: r.user_id?,
                dealership_id: r.dealership_id,
                dealership_name: r.dealership_name,
                role: r.role?,
                custom_role_id: r.custom_role_id,
                last_login: r.last_login,
                group_id: r.group_id,
                group_name: r.group_name,
            })
        })
        .collect();
    Ok(Some(LoginCandidate {
        person_id,
        email,
        password_hash,
        memberships,
    }))
}

/// Every live membership of the caller's own person, in live dealerships (the definer function
/// answers only for a person with a membership in the asking scope).
pub async fn memberships_of(tx: &TenantTx, person_id: Uuid) -> Result<Vec<Summary>, AppError> {
    Ok(Summary::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM person_memberships($1)",
        [person_id.into()],
    ))
    .all(tx)
    .await?)
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

/// Records a sign-in to the membership now: the user as stored after it, so the sign-in's
/// answer shows it. A sign-in is activity: the dormancy clock restarts and its marks go.
pub async fn touch_last_login(tx: &TenantTx, user: user::Model) -> Result<user::Model, AppError> {
    membership::Entity::update_many()
        .col_expr(membership::Column::LastLogin, Expr::cust("now()"))
        .col_expr(membership::Column::LastActiveAt, Expr::cust("now()"))
        .col_expr(membership::Column::DormantNoticeAt, Expr::cust("NULL"))
        .col_expr(membership::Column::DormantKeptAt, Expr::cust("NULL"))
        .filter(membership::Column::Id.eq(user.id))
        .exec(tx)
        .await?;
    // the row as stored: the time at the database's precision
    reread(tx, user.id).await
}

/// The user `id` as stored now (after a write in `tx`).
pub async fn reread(tx: &TenantTx, id: Uuid) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// The person's columns that `change` sets, on person `id` (its `updated_at` too); the caller
/// decided that the change is allowed.
pub async fn update_person(
    tx: &TenantTx,
    id: Uuid,
    change: person::ActiveModel,
) -> Result<(), AppError> {
    let mut change = change;
    change.updated_at = Set(Utc::now());
    person::Entity::update_many()
        .set(change)
        .filter(person::Column::Id.eq(id))
        .exec(tx)
        .await
        .map_err(conflict_if_taken)?;
    Ok(())
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
    let mut active = person::ActiveModel::default();
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
    update_person(tx, user.person_id, active).await?;
    let updated = reread(tx, user.id).await?;
    Ok((updated, serde_json::Value::Object(diff)))
}

/// A new password for person `id` (the caller ends the sessions it must).
pub async fn set_password_hash(tx: &TenantTx, id: Uuid, hash: String) -> Result<(), AppError> {
    let change = person::ActiveModel {
        password_hash: Set(hash),
        ..Default::default()
    };
    update_person(tx, id, change).await
}
