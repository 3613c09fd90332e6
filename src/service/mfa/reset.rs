//! Support's reset of someone's second factor (they lost their phone and their recovery
//! codes): by someone who outranks them — an admin for any user but an admin, a principal for
//! users of their dealership below their rank. Nobody takes over a peer: an admin's factors are
//! reset by their owner or by an operator on the command line ([`reset_by_operator`]).
//! Every factor and recovery code goes, every session of the user ends, the user is mailed,
//! and the reset is audited. They sign in with the password alone afterwards (and enrol again
//! if they must).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{count, event, notify, store};
use crate::{
    auth::sessions::{self as cache, Revoked},
    domain::{Email, Role, SignInName},
    entity::user,
    error::AppError,
    mail::{Kind, Mailer, outbox},
    scope::{RequestMeta, RequestScope},
    service::{
        audit, sessions, sign_in, user_mail,
        users::{self, directory, manage::governs_account_of, people::governs_credentials_of},
    },
    state::AppState,
    tenancy::TenantTx,
};

pub async fn reset(state: &AppState, scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let who = scope.principal();
    if id == who.user_id {
        return Err(AppError::field(
            "id",
            "remove your own factors at DELETE /api/v1/auth/mfa/totp/{id}",
        ));
    }
    let target = directory::get(scope, id).await?;
    match who.role {
        Role::Admin => governs_account_of(who, target.role)?,
        // a custom role granting `users:update` is no support desk: principals only
        Role::GroupPrincipal | Role::Principal => governs_account_of(who, target.role)?,
        Role::GroupManager | Role::Manager | Role::Agent => return Err(AppError::Forbidden),
    }
    // not beside the user's own sign-in or code check; their code lock goes with the factors
    // a second factor is a credential of the person, wherever else they work
    governs_credentials_of(scope.tx(), who, &target).await?;
    sign_in::user_lock(scope.tx(), target.person_id).await?;
    let removed = store::remove_all(scope.tx(), target.person_id).await?;
    sign_in::clear_code_counts(scope.tx(), &target).await?;
    sessions::end_all(scope, id, target.dealership_id, None, "mfa_reset").await?;
    let changes = serde_json::json!({ "factors_removed": removed });
    let reset = event("mfa.reset", &target, who.user_id, Some(changes));
    audit::record_for_person(scope.tx(), scope.meta(), reset, target.person_id).await?;
    notify(state, scope.tx(), Kind::MfaFactorRemoved, &target).await?;
    count("reset");
    Ok(())
}

/// `dealergate admin reset-mfa`: an operator's reset of the live user signing in as `email`
/// (what restores an admin who lost every factor), in `tx`, a platform transaction. The same
/// effects as support's, audited as done by no one; `None` if there is no such user.
pub async fn reset_by_operator(
    tx: &TenantTx,
    mailer: &Mailer,
    email: &Email,
    meta: &RequestMeta,
) -> Result<Option<(user::Model, i64)>, AppError> {
    let Some(found) = users::login_candidate(tx, &SignInName::from(email.clone())).await? else {
        return Ok(None);
    };
    // the person's membership used last, or any (the factors are the person's)
    let target = user::Entity::find()
        .filter(user::Column::PersonId.eq(found.person_id))
        .order_by_desc(user::Column::LastLogin)
        .one(tx)
        .await?;
    let Some(target) = target else {
        return Ok(None);
    };
    sign_in::user_lock(tx, target.person_id).await?;
    let removed = store::remove_all(tx, target.person_id).await?;
    sign_in::clear_code_counts(tx, &target).await?;
    let ended = sessions::end_person(tx, target.person_id, (None, None), "mfa_reset").await?;
    cache::publish(tx, Revoked::Person(target.person_id)).await?;
    let changes = serde_json::json!({
        "factors_removed": removed, "sessions_ended": ended, "by": "operator",
    });
    let mut reset = event("mfa.reset", &target, target.id, Some(changes));
    reset.actor_id = None;
    audit::record_for_person(tx, meta, reset, target.person_id).await?;
    let letter = user_mail::letter(tx, Kind::MfaFactorRemoved, &target).await?;
    outbox::enqueue(tx, mailer.compose(letter)?).await?;
    count("reset");
    Ok(Some((target, removed)))
}
