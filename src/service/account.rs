//! The caller's own account: the profile and the password. The password (and the sign-in
//! email, [`super::email_change`]) change only with the current password (re-authentication
//! throttled like a login), so a stolen access token cannot move the account to an attacker.
//! They take a [`Grant`], not an open scope: the password is checked (slowly) before any
//! transaction opens.
//! Closing the account is in [`closing`].

mod closing;
mod leaving;

pub use closing::close;
pub use leaving::leave;

use crate::{
    auth::password,
    domain::{Email, NewPassword, SignInName},
    entity::user,
    error::AppError,
    scope::{Grant, RequestScope},
    service::{
        audit, sign_in,
        taken::{self, Verdict},
        users,
    },
    state::AppState,
};

/// The caller's profile, from this replica's cache, or else read in a transaction of its own
/// (401 if they may no longer sign in). The session check before it already refused a revoked
/// session, an inactive or deleted user and a suspended dealership, so a cached profile is only
/// ever shown to a caller who may see it.
pub async fn profile(state: &AppState, grant: &Grant) -> Result<user::Profile, AppError> {
    let load = async {
        let scope = state.open(grant).await?;
        let user = me(&scope).await?;
        // every dealership the person may switch to, not only this one
        let memberships = users::memberships_of(scope.tx(), user.person_id).await?;
        scope.commit().await?;
        Ok(Some(user::Profile {
            memberships,
            ..user::Profile::from(user)
        }))
    };
    state
        .auth
        .sessions
        .profiles()
        .profile(grant.caller().user_id, load)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The caller, as long as they may still sign in (401 otherwise).
pub async fn me(scope: &RequestScope) -> Result<user::Model, AppError> {
    users::find_signable(scope.tx(), scope.principal().user_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

pub async fn update_me(
    state: &AppState,
    grant: &Grant,
    change: users::ProfileChange,
) -> Result<user::Model, AppError> {
    let scope = state.open(grant).await?;
    let user = me(&scope).await?;
    // a number another account holds is a counted answer (crate::service::taken)
    let claimed: Vec<_> = change
        .phone
        .clone()
        .flatten()
        .map(SignInName::Phone)
        .into_iter()
        .collect();
    if let Verdict::Refused(answer) = taken::judge(
        scope.tx(),
        state,
        grant.caller(),
        &claimed,
        Some(user.person_id),
    )
    .await?
    {
        scope.commit().await?;
        return Err(answer);
    }
    scope.profile_changed(user.id);
    let (user, changes) = match users::update_profile(scope.tx(), user, change).await {
        Err(err @ AppError::Conflict(_)) => {
            drop(scope);
            return Err(taken::counted(state, grant.caller(), err).await);
        }
        other => other?,
    };
    if changes.as_object().is_some_and(|c| !c.is_empty()) {
        audit::record_in(&scope, own_event("user.updated", grant, Some(changes))).await?;
    }
    scope.commit().await?;
    Ok(user)
}

/// A new password after the current one: every other session of the caller ends.
pub async fn change_password(
    state: &AppState,
    grant: &Grant,
    current: String,
    new: String,
) -> Result<(), AppError> {
    super::mfa::require_step_up(state, grant.caller()).await?;
    let user = signable(state, grant).await?;
    // the rule refuses a password built from the email, so it is judged here, not at the edge
    let new = NewPassword::parse(&new, Some(&user.email))
        .map_err(|invalid| AppError::field("new_password", invalid.message()))?;
    let email = stored_email(&user)?;
    sign_in::verify_current_password(state, grant.caller(), &email, current, user.password_hash)
        .await?;
    let hash = password::hash(new.expose().to_owned()).await?;

    let me = &grant.caller().principal;
    let scope = state.open(grant).await?;
    users::set_password_hash(scope.tx(), me.person_id, hash).await?;
    scope.profile_changed(me.user_id);
    let changed = own_event("user.password_changed", grant, None);
    audit::record_for_person(scope.tx(), scope.meta(), changed, me.person_id).await?;
    // every other sign-in of the person ends, in every dealership; this one stays
    let others = super::sessions::SignIns::Others;
    super::sessions::end_sign_ins(&scope, others, "password_changed").await?;
    scope.commit().await
}

/// The sign-in email as stored: it was valid when written, so a refusal is a server fault.
pub(super) fn stored_email(user: &user::Model) -> Result<Email, AppError> {
    Email::parse(&user.email).map_err(AppError::internal)
}

/// The caller's user, read in a transaction of its own that ends before any slow check.
pub(super) async fn signable(state: &AppState, grant: &Grant) -> Result<user::Model, AppError> {
    let scope = state.open(grant).await?;
    let user = me(&scope).await?;
    scope.commit().await?;
    Ok(user)
}

pub(super) fn own_event(
    action: &'static str,
    grant: &Grant,
    changes: Option<serde_json::Value>,
) -> audit::Event {
    let me = &grant.caller().principal;
    audit::Event {
        dealership_id: me.dealership_id,
        actor_id: Some(me.user_id),
        action,
        target_type: "user",
        target_id: Some(me.user_id),
        changes,
    }
}
