//! Service accounts: machine identities of a dealership, a dealer group or the platform, made
//! by a person with a recent second factor, with a role bounded by the maker's (a built-in
//! role up to their rank, or a custom role of the dealership whose every permission they hold).
//! Found within the caller's reach (RLS confines the transaction; a dealership's caller adds
//! the explicit condition). Every change is audited; ending an account or a key revokes it on
//! every replica at commit ([`Revoked::User`] for the account, [`Revoked::Session`] for a key).

mod keys;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;
use uuid::Uuid;

pub use keys::{IssuedKey, revoke_key, rotate};

use crate::{
    auth::sessions::Revoked,
    authz::Reach,
    config::ServiceAccountSettings,
    domain::{RoleName, ServiceAccountName},
    entity::{service_account, service_account_key},
    error::AppError,
    scope::RequestScope,
    service::{Page, audit, dealer_groups, dealerships, roles::assign, users::manage::outranks},
};

/// An account with its keys, newest first (never a secret, nor a hash of one).
pub struct Described {
    pub account: service_account::Model,
    pub keys: Vec<service_account_key::Model>,
}

/// What a new account is asked to be.
pub struct NewServiceAccount {
    pub name: ServiceAccountName,
    pub role: RoleName,
    /// The dealership (an admin's or a group principal's choice; a principal's own otherwise).
    pub dealership_id: Option<Uuid>,
    /// The dealer group of a group role (an admin's choice; a group principal's own).
    pub group_id: Option<Uuid>,
    /// How long its first key lives, in days (at most 365; default configured).
    pub expires_in_days: Option<i64>,
}

/// The accounts the scope reaches: a dealership's caller its dealership's; a group's caller
/// its group's and its dealerships' (RLS); a platform caller every one.
fn reachable(scope: &RequestScope) -> Result<Select<service_account::Entity>, AppError> {
    let query = service_account::Entity::find();
    match scope.reach() {
        Reach::Own => Err(AppError::Forbidden),
        Reach::Dealership => {
            Ok(query
                .filter(service_account::Column::DealershipId.eq(scope.principal().dealership_id)))
        }
        Reach::Group | Reach::Any => Ok(query),
    }
}

async fn keys_of(
    scope: &RequestScope,
    accounts: &[Uuid],
) -> Result<Vec<service_account_key::Model>, AppError> {
    Ok(service_account_key::Entity::find()
        .filter(service_account_key::Column::ServiceAccountId.is_in(accounts.to_vec()))
        .order_by_desc(service_account_key::Column::CreatedAt)
        .all(scope.tx())
        .await?)
}

fn described(account: service_account::Model, keys: &[service_account_key::Model]) -> Described {
    let keys = keys
        .iter()
        .filter(|k| k.service_account_id == account.id)
        .cloned()
        .collect();
    Described { account, keys }
}

/// A page of the reachable accounts, newest first, and how many there are.
pub async fn list(scope: &RequestScope, page: Page) -> Result<(Vec<Described>, u64), AppError> {
    let query = reachable(scope)?;
    let total = query.clone().count(scope.tx()).await?;
    let accounts = query
        .order_by_desc(service_account::Column::CreatedAt)
        .order_by_desc(service_account::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    let ids: Vec<Uuid> = accounts.iter().map(|a| a.id).collect();
    let keys = keys_of(scope, &ids).await?;
    let rows = accounts.into_iter().map(|a| described(a, &keys)).collect();
    Ok((rows, total))
}

/// Account `id`, if the scope reaches it (404 otherwise).
pub async fn find(scope: &RequestScope, id: Uuid) -> Result<service_account::Model, AppError> {
    reachable(scope)?
        .filter(service_account::Column::Id.eq(id))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("service account"))
}

pub async fn get(scope: &RequestScope, id: Uuid) -> Result<Described, AppError> {
    let account = find(scope, id).await?;
    let keys = keys_of(scope, &[id]).await?;
    Ok(described(account, &keys))
}

/// Where a new account goes and as what: a group role in a group (the caller's own, or the
/// one an admin names), anything else as a user would be placed ([`assign::placed`]: up to
/// the caller's rank, a custom role only with every permission the caller holds).
async fn placed(
    scope: &RequestScope,
    new: &NewServiceAccount,
) -> Result<(Option<Uuid>, Option<Uuid>, assign::Assigned), AppError> {
    if let RoleName::Builtin(role) = new.role
        && role.is_group()
    {
        outranks(scope.principal(), role)?;
        let group = match scope.reach() {
            // a group named by an admin must exist (404)
            Reach::Any => match new.group_id {
                Some(id) => Some(dealer_groups::get(scope, id).await?.group.id),
                None => None,
            },
            Reach::Group => scope.principal().group_id,
            _ => return Err(AppError::Forbidden),
        }
        .ok_or_else(|| AppError::field("group_id", "is required for a group role"))?;
        let assigned = assign::Assigned {
            role,
            custom_role_id: None,
        };
        return Ok((None, Some(group), assigned));
    }
    if new.group_id.is_some() {
        return Err(AppError::field(
            "group_id",
            "only a group role is held in a group",
        ));
    }
    let placement = assign::placed(scope, &new.role, new.dealership_id).await?;
    if let (Reach::Any, Some(dealership)) = (scope.reach(), placement.dealership_id) {
        // a dealership named by an admin must exist (404)
        dealerships::get(scope, dealership).await?;
    }
    let assigned = assign::Assigned {
        role: placement.role,
        custom_role_id: placement.custom_role_id,
    };
    Ok((placement.dealership_id, None, assigned))
}

/// Makes an account and its first key (shown once). Needs a recent second factor.
pub async fn create(
    scope: &RequestScope,
    new: NewServiceAccount,
    settings: &ServiceAccountSettings,
) -> Result<(Described, IssuedKey), AppError> {
    let (dealership_id, group_id, assigned) = placed(scope, &new).await?;
    scope.require_step_up().await?;
    let days = keys::lifetime(new.expires_in_days, settings)?;
    let account = service_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(dealership_id),
        group_id: Set(group_id),
        name: Set(new.name.into_inner()),
        role: Set(assigned.role),
        custom_role_id: Set(assigned.custom_role_id),
        created_by: Set(scope.principal().user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(scope.tx())
    .await
    .map_err(AppError::from)?;
    let issued = keys::issue(scope, &account, days).await?;
    record(
        scope,
        "service_account.created",
        &account,
        Some(json!({
            "name": account.name,
            "role": account.role,
            "custom_role_id": account.custom_role_id,
            "key_id": issued.key.id,
            "expires_at": issued.key.expires_at,
        })),
    )
    .await?;
    let keys = vec![issued.key.clone()];
    Ok((Described { account, keys }, issued))
}

/// Ends account `id` and every key of it, on every replica at commit.
pub async fn revoke(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let account = find(scope, id).await?;
    outranks(scope.principal(), account.role)?;
    if account.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "the service account is revoked already".into(),
        ));
    }
    let mut ended = account.clone().into_active_model();
    ended.revoked_at = Set(Some(Utc::now()));
    ended.update(scope.tx()).await?;
    scope.revoke(Revoked::User(id)).await?;
    record(scope, "service_account.revoked", &account, None).await
}

/// An audit event about `account`, in its dealership.
async fn record(
    scope: &RequestScope,
    action: &'static str,
    account: &service_account::Model,
    changes: Option<serde_json::Value>,
) -> Result<(), AppError> {
    audit::record_in(
        scope,
        audit::Event {
            dealership_id: account.dealership_id,
            actor_id: Some(scope.principal().user_id),
            action,
            target_type: "service_account",
            target_id: Some(account.id),
            changes,
        },
    )
    .await
}
