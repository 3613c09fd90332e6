//! Support's reset of someone's second factor (they lost their phone and their recovery
//! codes): an admin for any user, a principal for users of their dealership below their rank.
//! Every factor and recovery code goes, every session of the user ends, the user is mailed,
//! and the reset is audited. They sign in with the password alone afterwards (and enrol again
//! if they must).

use uuid::Uuid;

use super::{count, event, notify, store};
use crate::{
    domain::Role,
    error::AppError,
    mail::Kind,
    scope::RequestScope,
    service::{
        audit, sessions, sign_in,
        users::{directory, manage::governs_account_of},
    },
    state::AppState,
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
        Role::Admin => {}
        // a custom role granting `users:update` is no support desk: principals only
        Role::Principal => governs_account_of(who, target.role)?,
        Role::Manager | Role::Agent => return Err(AppError::Forbidden),
    }
    // not beside the user's own sign-in or code check; their code lock goes with the factors
    sign_in::user_lock(scope.tx(), id).await?;
    let removed = store::remove_all(scope.tx(), id).await?;
    sign_in::clear_code_counts(scope.tx(), &target).await?;
    sessions::end_all(scope, id, target.dealership_id, None, "mfa_reset").await?;
    let changes = serde_json::json!({ "factors_removed": removed });
    let reset = event("mfa.reset", &target, who.user_id, Some(changes));
    audit::record_in(scope, reset).await?;
    notify(state, scope.tx(), Kind::MfaFactorRemoved, &target).await?;
    count("reset");
    Ok(())
}
