//! Closing one's own account: the current password first (throttled like a login), then a soft
//! delete that ends every session, audited and announced by mail — unless the caller is the
//! last active principal of their dealership or the last active admin, so a tenant or the
//! platform never loses its last manager by a click.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};

use super::{me, own_event, signable, stored_email};
use crate::{
    domain::Role,
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::{Grant, RequestScope},
    service::{audit, sign_in, user_mail, users::people},
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
    let closed = people::close_person(&scope, user).await?;
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

/// 409 if closing `user`'s person would leave an active dealership without an active
/// principal (the person closes in every dealership, so every one of them counts), or the
/// platform without an active admin. Each count runs under a transaction-scoped advisory lock
/// (one for principals' closings, one for the platform), so two closing at once cannot each
/// see the other and both leave: the second waits for the first to commit, then counts again
/// (read committed) and is refused.
async fn refuse_the_last_manager(scope: &RequestScope, user: &user::Model) -> Result<(), AppError> {
    if user.role == Role::Admin {
        return refuse_the_last_admin(scope, user).await;
    }
    lock(scope, "dealergate.last-manager.principals").await?;
    let row = scope
        .tx()
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT person_is_last_principal($1) AS yes",
            [user.person_id.into()],
        ))
        .await?;
    if row.map(|r| r.try_get::<bool>("", "yes")).transpose()? == Some(true) {
        return Err(AppError::Conflict(
            "you are the last active principal of a dealership; make someone else principal first"
                .to_owned(),
        ));
    }
    Ok(())
}

async fn lock(scope: &RequestScope, key: &str) -> Result<(), AppError> {
    scope
        .tx()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.into()],
        ))
        .await?;
    Ok(())
}

async fn refuse_the_last_admin(scope: &RequestScope, user: &user::Model) -> Result<(), AppError> {
    lock(scope, "dealergate.last-manager.platform").await?;
    let others = user::Entity::find()
        .filter(user::Column::Id.ne(user.id))
        .filter(user::Column::DealershipId.is_null())
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .count(scope.tx())
        .await?;
    if others == 0 {
        return Err(AppError::Conflict(
            "you are the last active admin; make someone else admin first".to_owned(),
        ));
    }
    Ok(())
}
