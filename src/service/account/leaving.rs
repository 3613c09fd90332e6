//! Leaving one dealership (`DELETE /auth/memberships/{dealership_id}`): the person keeps their
//! account and their other memberships; the one in that dealership ends, with every session
//! that uses it, on every replica. Not the person's last membership (closing the account is
//! `DELETE /auth/me`), and not a dealership's last active principal.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Set, Statement,
};
use uuid::Uuid;

use crate::{
    auth::sessions::{Revoked, publish},
    domain::Role,
    entity::membership,
    error::AppError,
    scope::Grant,
    service::{audit, sessions, users},
    state::AppState,
    tenancy::Scope,
};

/// Ends the caller's membership in `dealership_id`, after a recent second factor where the
/// person has one; 404 if they have none there, 422 for their only one, 409 for the last
/// active principal of that dealership.
pub async fn leave(state: &AppState, grant: &Grant, dealership_id: Uuid) -> Result<(), AppError> {
    crate::service::mfa::require_step_up(state, grant.caller()).await?;
    let scope = state.open(grant).await?;
    let me = scope.principal();
    let places = users::memberships_of(scope.tx(), me.person_id).await?;
    scope.commit().await?;
    let place = places
        .iter()
        .find(|m| m.dealership_id == Some(dealership_id))
        .ok_or(AppError::NotFound("membership"))?;
    if places.len() == 1 {
        return Err(AppError::field(
            "dealership_id",
            "your only dealership: close your account with DELETE /api/v1/auth/me",
        ));
    }

    let tx = state.db.begin(Scope::Dealership(dealership_id)).await?;
    // closing accounts and leaving count principals in turn (service/account/closing.rs)
    tx.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended('dealergate.last-manager.principals', 0))",
    ))
    .await?;
    if place.role == Role::Principal {
        let others = membership::Entity::find()
            .filter(membership::Column::DealershipId.eq(dealership_id))
            .filter(membership::Column::Id.ne(place.user_id))
            .filter(membership::Column::Role.eq(Role::Principal))
            .filter(membership::Column::IsActive.eq(true))
            .filter(membership::Column::DeletedAt.is_null())
            .count(&tx)
            .await?;
        if others == 0 {
            return Err(AppError::Conflict(
                "you are the last active principal of this dealership; make someone else \
                 principal first"
                    .into(),
            ));
        }
    }
    let now = chrono::Utc::now();
    let left = membership::ActiveModel {
        id: Set(place.user_id),
        deleted_at: Set(Some(now)),
        is_active: Set(false),
        custom_role_id: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    left.update(&tx).await?;
    sessions::revoke_all(&tx, place.user_id, None, "membership_left").await?;
    publish(&tx, Revoked::User(place.user_id)).await?;
    users::manage::revoke_invitations_of(&tx, place.user_id).await?;
    let event = audit::Event {
        dealership_id: Some(dealership_id),
        actor_id: Some(place.user_id),
        action: "membership.left",
        target_type: "user",
        target_id: Some(place.user_id),
        changes: None,
    };
    audit::record(&tx, &grant.caller().meta, event).await?;
    tx.commit().await?;
    state
        .auth
        .sessions
        .apply(Revoked::User(place.user_id))
        .await;
    Ok(())
}
