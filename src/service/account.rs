//! The caller's own account: the profile, the sign-in email and the password. The email and
//! the password change only with the current password (re-authentication throttled like a
//! login), so a stolen access token cannot move the account to an attacker. Both take a
//! [`Grant`], not an open scope: the password is checked (slowly) before any transaction opens.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use crate::{
    auth::password,
    domain::{Email, NewPassword},
    entity::user,
    error::AppError,
    scope::{Grant, RequestScope},
    service::{audit, sign_in, users},
    state::AppState,
};

/// What the caller asks to change about themselves; `None` leaves a field as it is.
pub struct OwnChange {
    pub profile: users::ProfileChange,
    pub email: Option<Email>,
    pub current_password: Option<String>,
}

/// The caller's profile, from this replica's cache, or else read in a transaction of its own
/// (401 if they may no longer sign in). The session check before it already refused a revoked
/// session, an inactive or deleted user and a suspended dealership, so a cached profile is only
/// ever shown to a caller who may see it.
pub async fn profile(state: &AppState, grant: &Grant) -> Result<user::Profile, AppError> {
    let load = async {
        let scope = state.open(grant).await?;
        let user = me(&scope).await?;
        scope.commit().await?;
        Ok(Some(user::Profile::from(user)))
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
    change: OwnChange,
) -> Result<user::Model, AppError> {
    // only an email change needs the current password, checked outside the change
    let new_email = match change.email {
        Some(email) => verify_for_new_email(state, grant, email, change.current_password).await?,
        None => None,
    };
    let scope = state.open(grant).await?;
    let user = me(&scope).await?;
    scope.profile_changed(user.id);
    let (mut user, mut changes) = users::update_profile(scope.tx(), user, change.profile).await?;
    if let Some(email) = new_email {
        changes["email"] = serde_json::json!({"before": user.email, "after": email.as_str()});
        let mut active = user.into_active_model();
        active.email = Set(email.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        user = active
            .update(scope.tx())
            .await
            .map_err(users::conflict_if_taken)?;
    }
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
    users::set_password_hash(scope.tx(), me.user_id, hash).await?;
    scope.profile_changed(me.user_id);
    audit::record_in(&scope, own_event("user.password_changed", grant, None)).await?;
    super::sessions::end_all_own(&scope, Some(me.session_id), "password_changed").await?;
    scope.commit().await
}

/// `Some(email)` once the current password is confirmed, `None` if it is the caller's email
/// already.
async fn verify_for_new_email(
    state: &AppState,
    grant: &Grant,
    email: Email,
    current_password: Option<String>,
) -> Result<Option<Email>, AppError> {
    let user = signable(state, grant).await?;
    if email.as_str() == user.email {
        return Ok(None);
    }
    let current = current_password
        .ok_or_else(|| AppError::field("current_password", "is required to change the email"))?;
    let signed_in_as = stored_email(&user)?;
    sign_in::verify_current_password(
        state,
        grant.caller(),
        &signed_in_as,
        current,
        user.password_hash,
    )
    .await?;
    Ok(Some(email))
}

/// The sign-in email as stored: it was valid when written, so a refusal is a server fault.
fn stored_email(user: &user::Model) -> Result<Email, AppError> {
    Email::parse(&user.email).map_err(AppError::internal)
}

/// The caller's user, read in a transaction of its own that ends before any slow check.
async fn signable(state: &AppState, grant: &Grant) -> Result<user::Model, AppError> {
    let scope = state.open(grant).await?;
    let user = me(&scope).await?;
    scope.commit().await?;
    Ok(user)
}

fn own_event(
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
