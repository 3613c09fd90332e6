//! Invitations: an admin (any dealership) or a principal (their own, roles up to their rank)
//! invites an address into one dealership with one role. The mailed link's token is stored
//! hashed, works once, expires, and dies when the invitation is revoked or resent. Signing up
//! with it is [`signup`].

pub mod join;
mod quota;
pub mod signup;

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    roles::{self, assign},
    users::manage::outranks,
};
use crate::{
    auth::account_token::AccountToken,
    authz::Reach,
    domain::{Email, PersonName, Role, RoleName},
    entity::{
        custom_role, dealership,
        invitation::{self, Status},
    },
    error::AppError,
    mail::{Kind, outbox},
    scope::RequestScope,
    service::{Page, audit, user_mail},
    state::AppState,
    tenancy::in_scope_dealerships,
};

pub struct NewInvitation {
    pub email: Email,
    /// A built-in role, or a custom role of the dealership.
    pub role: RoleName,
    pub dealership_id: Option<Uuid>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

/// Invites `new.email`; older open invitations of the address into the same dealership are
/// revoked (one live link per address and dealership; an expired one could be resent). Whether the address has an account
/// already is not said here (it could be another dealership's): signing up says it (409).
pub async fn create(
    state: &AppState,
    scope: &RequestScope,
    new: NewInvitation,
) -> Result<invitation::Model, AppError> {
    let placed = assign::placed(scope, &new.role, new.dealership_id).await?;
    if new.role.is_principal_or_above() {
        scope.require_step_up().await?;
    }
    let dealership_id = placed.dealership_id;
    if let Some(id) = dealership_id {
        let live = dealership::Entity::find_by_id(id)
            .one(scope.tx())
            .await?
            .is_some_and(|d| d.deleted_at.is_none() && d.is_active);
        if !live {
            return Err(AppError::NotFound("dealership"));
        }
    }
    quota::take(state, scope, dealership_id, new.email.as_str()).await?;
    let now = Utc::now();
    let superseded = supersede(scope, dealership_id, new.email.as_str(), None).await?;
    let token = AccountToken::generate();
    let ttl_secs = state.settings.mail.invitation_ttl_secs;
    let created = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(dealership_id),
        email: Set(new.email.as_str().to_owned()),
        role: Set(placed.role),
        custom_role_id: Set(placed.custom_role_id),
        first_name: Set(new.first_name.map(PersonName::into_inner)),
        last_name: Set(new.last_name.map(PersonName::into_inner)),
        invited_by: Set(Some(scope.principal().user_id)),
        token_id: Set(token.id),
        token_hash: Set(token.hash()),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(now + Duration::seconds(ttl_secs as i64)),
        ..Default::default()
    }
    .insert(scope.tx())
    .await
    .map_err(|e| super::users::manage::role_deleted_meanwhile(e, AppError::from))?;
    mail(state, scope, &created, &token).await?;
    let changes = json!({
        "email": created.email, "role": created.role, "custom_role_id": created.custom_role_id,
        "dealership_id": created.dealership_id, "superseded": superseded,
    });
    record(scope, "invitation.created", &created, changes).await?;
    Ok(created)
}

/// Invitations the caller can see, newest first, optionally of one status; and their total.
pub async fn list(
    scope: &RequestScope,
    status: Option<Status>,
    dealership_id: Option<Uuid>,
    page: Page,
) -> Result<(Vec<invitation::Model>, u64), AppError> {
    let mut query = visible(scope);
    if let (Reach::Any | Reach::Group, Some(d)) = (scope.reach(), dealership_id) {
        query = query.filter(invitation::Column::DealershipId.eq(d));
    }
    if let Some(status) = status {
        query = query.filter(of_status(status, Utc::now()));
    }
    let total = query.clone().count(scope.tx()).await?;
    let page = query
        .order_by_desc(invitation::Column::CreatedAt)
        .order_by_desc(invitation::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    Ok((page, total))
}

/// Revokes a pending invitation (its link stops working); 409 for one that is not pending,
/// also when a signup takes it while this runs (the update is conditional).
pub async fn revoke(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let found = get(scope, id).await?;
    let now = Utc::now();
    let done = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, now.into())
        .col_expr(invitation::Column::UpdatedAt, now.into())
        .filter(invitation::Column::Id.eq(id))
        .filter(pending(now))
        .exec(scope.tx())
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict(
            "only a pending invitation can be revoked".into(),
        ));
    }
    let changes = json!({"email": found.email});
    record(scope, "invitation.revoked", &found, changes).await
}

/// A new link for a pending or expired invitation, valid for a full lifetime again; the old
/// link stops working, and so does any newer invitation of the address into the dealership.
/// 409 for an accepted or revoked one, also when a signup takes it while this runs.
pub async fn resend(
    state: &AppState,
    scope: &RequestScope,
    id: Uuid,
) -> Result<invitation::Model, AppError> {
    let found = get(scope, id).await?;
    // a new link hands the role out again: only by someone who could hand it out now
    if let Some(role) = found.custom_role_id {
        let role = custom_role::Entity::find_by_id(role)
            .one(scope.tx())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        scope.holds(&roles::held_by(&role))?;
    }
    quota::take(state, scope, found.dealership_id, &found.email).await?;
    let token = AccountToken::generate();
    let now = Utc::now();
    let ttl_secs = state.settings.mail.invitation_ttl_secs;
    let done = invitation::Entity::update_many()
        .col_expr(invitation::Column::TokenId, token.id.into())
        .col_expr(invitation::Column::TokenHash, token.hash().into())
        .col_expr(invitation::Column::UpdatedAt, now.into())
        .col_expr(
            invitation::Column::ExpiresAt,
            (now + Duration::seconds(ttl_secs as i64)).into(),
        )
        .filter(invitation::Column::Id.eq(id))
        .filter(open())
        .exec(scope.tx())
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict(
            "an accepted or revoked invitation cannot be sent again".into(),
        ));
    }
    supersede(scope, found.dealership_id, &found.email, Some(id)).await?;
    let resent = invitation::Entity::find_by_id(id)
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    mail(state, scope, &resent, &token).await?;
    let changes = json!({"email": resent.email});
    record(scope, "invitation.resent", &resent, changes).await?;
    Ok(resent)
}

/// Invitation `id` if the caller may act on it: within their reach (404 otherwise, as for
/// another dealership's), and of a role up to their rank (403).
async fn get(scope: &RequestScope, id: Uuid) -> Result<invitation::Model, AppError> {
    let found = visible(scope)
        .filter(invitation::Column::Id.eq(id))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    outranks(scope.principal(), found.role)?;
    Ok(found)
}

/// RLS already confines a tenant transaction; the explicit condition says the same.
fn visible(scope: &RequestScope) -> Select<invitation::Entity> {
    let query = invitation::Entity::find();
    match scope.reach() {
        Reach::Any => query,
        Reach::Group => query.filter(in_scope_dealerships("invitations.dealership_id")),
        Reach::Dealership | Reach::Own => {
            query.filter(invitation::Column::DealershipId.eq(scope.principal().dealership_id))
        }
    }
}

/// Revokes the open (pending or expired) invitations of `email` into `dealership_id` but
/// `keep`; how many.
async fn supersede(
    scope: &RequestScope,
    dealership_id: Option<Uuid>,
    email: &str,
    keep: Option<Uuid>,
) -> Result<u64, AppError> {
    let now = Utc::now();
    let mut query = invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, now.into())
        .col_expr(invitation::Column::UpdatedAt, now.into())
        .filter(open())
        .filter(match dealership_id {
            Some(d) => invitation::Column::DealershipId.eq(d),
            None => invitation::Column::DealershipId.is_null(),
        })
        .filter(invitation::Column::Email.eq(email))
        // an invitation above the caller's rank is not theirs to end
        .filter(invitation::Column::Role.is_in(within_rank(scope)));
    if let Some(keep) = keep {
        query = query.filter(invitation::Column::Id.ne(keep));
    }
    Ok(query.exec(scope.tx()).await?.rows_affected)
}

/// The roles up to the scope's caller's rank.
fn within_rank(scope: &RequestScope) -> Vec<Role> {
    let rank = scope.principal().role.rank();
    Role::iter().filter(|r| r.rank() <= rank).collect()
}

fn pending(now: chrono::DateTime<Utc>) -> Condition {
    of_status(Status::Pending, now)
}

/// Neither accepted nor revoked: pending, or expired and so still resendable.
fn open() -> Condition {
    Condition::all()
        .add(invitation::Column::AcceptedAt.is_null())
        .add(invitation::Column::RevokedAt.is_null())
}

fn of_status(status: Status, now: chrono::DateTime<Utc>) -> Condition {
    match status {
        Status::Pending => open().add(invitation::Column::ExpiresAt.gt(now)),
        Status::Expired => open().add(invitation::Column::ExpiresAt.lte(now)),
        Status::Accepted => Condition::all().add(invitation::Column::AcceptedAt.is_not_null()),
        Status::Revoked => Condition::all()
            .add(invitation::Column::AcceptedAt.is_null())
            .add(invitation::Column::RevokedAt.is_not_null()),
    }
}

/// Queues the invitation's link to its address, in the scope's transaction.
async fn mail(
    state: &AppState,
    scope: &RequestScope,
    invitation: &invitation::Model,
    token: &AccountToken,
) -> Result<(), AppError> {
    let mut letter = user_mail::addressed(
        scope.tx(),
        Kind::Invitation,
        invitation.dealership_id,
        &invitation.email,
    )
    .await?;
    letter.context.first_name = invitation.first_name.clone().unwrap_or_default();
    letter.context.link = state.mail.invitation_link(&token.expose());
    letter.context.expires_minutes =
        (invitation.expires_at - Utc::now()).num_minutes().max(1) as u64;
    let custom = match invitation.custom_role_id {
        Some(id) => custom_role::Entity::find_by_id(id).one(scope.tx()).await?,
        None => None,
    };
    letter.context.role =
        Some(custom.map_or_else(|| invitation.role.as_str().to_owned(), |r| r.name));
    outbox::enqueue(scope.tx(), state.mail.compose(letter)?).await?;
    Ok(())
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    target: &invitation::Model,
    changes: serde_json::Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: target.dealership_id,
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "invitation",
        target_id: Some(target.id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}
