//! Closing one's own account: the current password first (throttled like a login), then a soft
//! delete that ends every session, audited and announced by mail — unless the caller is the
//! last active principal of their dealership or the last active admin, so a tenant or the
//! platform never loses its last manager by a click.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use uuid::Uuid;

use super::{me, own_event, signable, stored_email};
use crate::{
    domain::Role,
    entity::{dealership, user},
    error::AppError,
    mail::{Kind, outbox},
    scope::{Grant, RequestScope},
    service::{audit, sign_in, user_mail, users::manage},
    state::AppState,
};

/// Soft-deletes the caller after a recent second factor (for an enrolled account, 403
/// `step_up_required` otherwise) and their current password (422 on `current_password` if
/// wrong, 429 when locked); 409 if they are the last one who can manage their dealership or the
/// platform.
pub async fn close(state: &AppState, grant: &Grant, current: String) -> Result<(), AppError> {
    // at least as sensitive as changing the password: a recent code for an enrolled account
    crate::service::mfa::require_step_up(state, grant.caller()).await?;
    let user = signable(state, grant).await?;
    let email = stored_email(&user)?;
    sign_in::verify_current_password(state, grant.caller(), &email, current, user.password_hash)
        .await?;

    let scope = state.open(grant).await?;
    // read again: the account may have changed while the password was checked
    let user = me(&scope).await?;
    refuse_the_last_manager(&scope, &user).await?;
    let closed = manage::soft_delete(&scope, user, "account_closed").await?;
    let changes = serde_json::json!({"email": closed.email});
    audit::record_in(
        &scope,
        own_event("user.account_closed", grant, Some(changes)),
    )
    .await?;
    // the notice goes with the closing, or neither happens
    let notice = user_mail::compose(
        state,
        scope.tx(),
        Kind::AccountClosed,
        &closed,
        String::new(),
        0,
    )
    .await?;
    outbox::enqueue(scope.tx(), notice).await?;
    scope.commit().await
}

/// 409 if `user` is the last active principal of an active dealership, or the last active
/// admin. The count runs under a transaction-scoped advisory lock per dealership (one for the
/// platform), so two principals closing at once cannot each see the other and both leave: the
/// second waits for the first to commit, then counts again (read committed) and is refused.
async fn refuse_the_last_manager(scope: &RequestScope, user: &user::Model) -> Result<(), AppError> {
    let (key, message) = match (user.role, user.dealership_id) {
        (Role::Principal, Some(d)) => (
            format!("dealergate.last-manager.{d}"),
            "you are the last active principal of this dealership; make someone else principal first",
        ),
        (Role::Admin, None) => (
            "dealergate.last-manager.platform".to_owned(),
            "you are the last active admin; make someone else admin first",
        ),
        _ => return Ok(()),
    };
    scope
        .tx()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.into()],
        ))
        .await?;
    if let Some(d) = user.dealership_id
        && !dealership_is_active(scope, d).await?
    {
        return Ok(());
    }
    // a principal's scope sees its own dealership's users; an admin's, the platform's
    let others = user::Entity::find()
        .filter(user::Column::Id.ne(user.id))
        .filter(match user.dealership_id {
            Some(d) => user::Column::DealershipId.eq(d),
            None => user::Column::DealershipId.is_null(),
        })
        .filter(user::Column::Role.eq(user.role))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .count(scope.tx())
        .await?;
    if others == 0 {
        return Err(AppError::Conflict(message.to_owned()));
    }
    Ok(())
}

async fn dealership_is_active(scope: &RequestScope, id: Uuid) -> Result<bool, AppError> {
    Ok(dealership::Entity::find_by_id(id)
        .filter(dealership::Column::IsActive.eq(true))
        .filter(dealership::Column::DeletedAt.is_null())
        .count(scope.tx())
        .await?
        > 0)
}
