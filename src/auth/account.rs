//! The caller's own account through `/auth/me`: the profile, and the sign-in email, which
//! changes only with the current password (re-authentication throttled like a login), so a
//! stolen access token cannot move the account to an attacker's address.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use super::{login, principal::Principal};
use crate::{
    domain::Email,
    entity::user,
    error::{AppError, FieldError, conflict_if_duplicate},
    http::fields,
    service::{RequestMeta, audit, users},
    state::AppState,
};

/// What the caller asks to change about themselves; `None` leaves a field as it is.
pub struct OwnChange {
    pub profile: users::ProfileChange,
    pub email: Option<Email>,
    pub current_password: Option<String>,
}

pub async fn update_me(
    state: &AppState,
    me: &Principal,
    change: OwnChange,
    meta: &RequestMeta,
) -> Result<user::Model, AppError> {
    // only an email change needs the current password, checked (slowly) outside the change
    let new_email = match change.email {
        Some(email) => {
            verify_for_new_email(state, me, email, change.current_password, meta).await?
        }
        None => None,
    };
    let tx = state.db.begin(me.scope()).await?;
    let user = users::find_signable(&tx, me.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (mut user, mut changes) = users::update_profile(&tx, user, change.profile).await?;
    if let Some(email) = new_email {
        changes["email"] = serde_json::json!({"before": user.email, "after": email.as_str()});
        let mut active = user.into_active_model();
        active.email = Set(email.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        user = active
            .update(&*tx)
            .await
            .map_err(|e| conflict_if_duplicate(e, "a user with this email"))?;
    }
    if changes.as_object().is_some_and(|c| !c.is_empty()) {
        let event = audit::Event {
            dealership_id: me.dealership_id,
            actor_id: Some(me.user_id),
            action: "user.updated",
            target_type: "user",
            target_id: Some(me.user_id),
            changes: Some(changes),
        };
        audit::record(&tx, meta, event).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// `Some(email)` once the current password is confirmed, `None` if it is the caller's email
/// already.
async fn verify_for_new_email(
    state: &AppState,
    me: &Principal,
    email: Email,
    current_password: Option<String>,
    meta: &RequestMeta,
) -> Result<Option<Email>, AppError> {
    let tx = state.db.begin(me.scope()).await?;
    let user = users::find_signable(&tx, me.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    tx.commit().await?;
    if email.as_str() == user.email {
        return Ok(None);
    }
    let current = current_password.ok_or_else(|| {
        AppError::Validation(vec![FieldError::new(
            "current_password",
            "is required to change the email",
        )])
    })?;
    let signed_in_as = fields::one("email", Email::parse(&user.email))?;
    login::verify_current_password(state, me, &signed_in_as, current, user.password_hash, meta)
        .await?;
    Ok(Some(email))
}
