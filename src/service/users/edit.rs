//! Editing staff: profile, email, role, activity and someone else's password, under the rank
//! rules of [`super::manage`]. Role changes, deactivation and password resets end the user's
//! outstanding tokens at once; a new email starts unverified and is mailed a verification
//! link.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    ProfileChange, directory,
    manage::{governs_account_of, outranks, record, revoke_invitations_of},
    people::governs_credentials_of,
};
use crate::{
    auth::{password, sessions::Revoked},
    authz::Reach,
    domain::{Email, NewPassword, PersonName, Phone, Role, RoleName, SignInName},
    entity::{membership, person, user},
    error::AppError,
    scope::{Grant, RequestScope},
    service::{
        account_tokens, email_verification,
        roles::assign,
        sessions,
        taken::{self, Verdict},
    },
    state::AppState,
};

/// The fields of an edit; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChange {
    pub email: Option<Email>,
    pub profile: ProfileChange,
    /// A built-in role, or a custom role of the user's dealership.
    pub role: Option<RoleName>,
    pub is_active: Option<bool>,
    /// A new password for someone else (users change their own at `/auth/password`).
    pub password: Option<NewPassword>,
}

/// Applies `change` to user `id`. A new password is hashed before the transaction opens.
pub async fn update(
    state: &AppState,
    grant: &Grant,
    id: Uuid,
    change: UserChange,
) -> Result<user::Model, AppError> {
    if change.password.is_some() && id == grant.caller().user_id {
        return Err(own_password());
    }
    // an email or phone another account holds is a counted answer (crate::service::taken)
    let names_change = change.email.is_some() || matches!(change.profile.phone, Some(Some(_)));
    if names_change {
        taken::refuse_if_locked(state, grant.caller()).await?;
    }
    let password_hash = match &change.password {
        Some(p) => Some(password::hash(p.expose().to_owned()).await?),
        None => None,
    };
    let scope = state.open(grant).await?;
    let target = directory::get(&scope, id).await?;
    let names = [
        change.email.clone().map(SignInName::from),
        change
            .profile
            .phone
            .clone()
            .flatten()
            .map(SignInName::Phone),
    ];
    let names: Vec<_> = names.into_iter().flatten().collect();
    if let Verdict::Refused(answer) = taken::judge(
        scope.tx(),
        state,
        grant.caller(),
        &names,
        Some(target.person_id),
    )
    .await?
    {
        scope.commit().await?;
        return Err(answer);
    }
    let before = target.email.clone();
    let updated = match apply(&scope, target, change, password_hash).await {
        Err(err @ AppError::Conflict(_)) => {
            drop(scope);
            return Err(taken::counted(state, grant.caller(), err).await);
        }
        other => other?,
    };
    if updated.email != before {
        // the new address is unproven: links mailed to the old one end, and it gets its own
        account_tokens::end_all(scope.tx(), id, "email_changed").await?;
        email_verification::send_in(state, scope.tx(), &updated).await?;
    }
    scope.commit().await?;
    Ok(updated)
}

/// Flips user `id`'s `is_active`; deactivation ends their tokens at once. Not on yourself.
pub async fn toggle_active(scope: &RequestScope, id: Uuid) -> Result<user::Model, AppError> {
    if id == scope.principal().user_id {
        return Err(AppError::field("id", "you cannot deactivate yourself"));
    }
    let target = directory::get(scope, id).await?;
    let change = UserChange {
        is_active: Some(!target.is_active),
        ..UserChange::default()
    };
    apply(scope, target, change, None).await
}

fn own_password() -> AppError {
    AppError::field("password", "change your own at /api/v1/auth/password")
}

async fn apply(
    scope: &RequestScope,
    target: user::Model,
    change: UserChange,
    password_hash: Option<String>,
) -> Result<user::Model, AppError> {
    let (who, reach, tx) = (scope.principal(), scope.reach(), scope.tx());
    let id = target.id;
    outranks(who, target.role)?;
    // on oneself alone (`self` reach) only the profile may change: the login email, role,
    // activity and password are staff decisions (own password: /auth/password)
    let account_change = change.email.is_some()
        || change.role.is_some()
        || change.is_active.is_some()
        || password_hash.is_some();
    if reach == Reach::Own && account_change {
        return Err(AppError::Forbidden);
    }
    let assigned = match &change.role {
        Some(name) => Some(assign::assigned(scope, name, target.dealership_id).await?),
        None => None,
    };
    let new_role = assigned.map(|a| a.role);
    if let Some(role) = new_role {
        outranks(who, role)?;
    }
    let role_changes = assigned
        .is_some_and(|a| a.role != target.role || a.custom_role_id != target.custom_role_id);
    if id == who.user_id && (role_changes || change.is_active == Some(false)) {
        return Err(AppError::field(
            "id",
            "you cannot change your own role or deactivate yourself",
        ));
    }
    if id == who.user_id && password_hash.is_some() {
        return Err(own_password());
    }
    if id == who.user_id
        && change
            .email
            .as_ref()
            .is_some_and(|e| e.as_str() != target.email)
    {
        return Err(AppError::field(
            "email",
            "change your own at /api/v1/auth/email, with your current password",
        ));
    }
    let changes_account = change
        .email
        .as_ref()
        .is_some_and(|e| e.as_str() != target.email)
        || role_changes
        || change.is_active.is_some_and(|a| a != target.is_active)
        || password_hash.is_some()
        // a phone is a sign-in name too: a peer must not be able to set or take it
        || change
            .profile
            .phone
            .as_ref()
            .is_some_and(|p| p.as_ref().map(Phone::as_str) != target.phone.as_deref());
    if id != who.user_id && changes_account {
        governs_account_of(who, target.role)?;
    }
    // sign-in names and the password are the person's, wherever else they work
    let changes_credentials = change
        .email
        .as_ref()
        .is_some_and(|e| e.as_str() != target.email)
        || password_hash.is_some()
        || change
            .profile
            .phone
            .as_ref()
            .is_some_and(|p| p.as_ref().map(Phone::as_str) != target.phone.as_deref());
    if changes_credentials {
        governs_credentials_of(tx, who, &target).await?;
    }
    // changing anyone's role or someone else's account (sign-in names, password, activity),
    // or anything of a principal's, is sensitive
    let others_account = id != who.user_id && changes_account;
    if role_changes || others_account || target.role.rank() >= Role::Principal.rank() {
        scope.require_step_up().await?;
    }
    if target.group_id.is_some() && new_role.is_some() {
        return Err(AppError::field(
            "role",
            "a group membership's role changes at /api/v1/dealer-groups/{id}/members",
        ));
    }
    if new_role == Some(Role::Admin) && target.dealership_id.is_some()
        || new_role.is_some_and(|r| r != Role::Admin) && target.dealership_id.is_none()
    {
        return Err(AppError::field(
            "role",
            "admins, and only admins, belong to no dealership",
        ));
    }

    let mut diff = Map::new();
    let mut person = <person::ActiveModel as Default>::default();
    let mut member = <membership::ActiveModel as Default>::default();
    // the membership's sessions end (role, activity), or the person's (password)
    let (mut invalidate, mut new_password) = (false, false);
    if let Some(email) = change.email.filter(|e| e.as_str() != target.email) {
        diff.insert(
            "email".into(),
            json!({"before": target.email, "after": email.as_str()}),
        );
        person.email = Set(email.as_str().to_owned());
        person.email_verified_at = Set(None);
    }
    if let Some(to) = assigned.filter(|_| role_changes) {
        if to.role != target.role {
            diff.insert(
                "role".into(),
                json!({"before": target.role, "after": to.role}),
            );
        }
        if to.custom_role_id != target.custom_role_id {
            diff.insert(
                "custom_role_id".into(),
                json!({"before": target.custom_role_id, "after": to.custom_role_id}),
            );
        }
        member.role = Set(to.role);
        member.custom_role_id = Set(to.custom_role_id);
        invalidate = true;
    }
    if let Some(is_active) = change.is_active.filter(|a| *a != target.is_active) {
        diff.insert(
            "is_active".into(),
            json!({"before": target.is_active, "after": is_active}),
        );
        member.is_active = Set(is_active);
        invalidate |= !is_active;
    }
    if let Some(hash) = password_hash {
        diff.insert("password".into(), json!({"changed": true}));
        person.password_hash = Set(hash);
        person.token_version = Set(target.token_version + 1);
        new_password = true;
    }
    let profile = change.profile;
    let first_name = profile.first_name.map(PersonName::into_inner);
    let last_name = profile.last_name.map(PersonName::into_inner);
    for (field, before, after) in [
        ("first_name", Some(&target.first_name), first_name.as_ref()),
        ("last_name", Some(&target.last_name), last_name.as_ref()),
    ] {
        if let Some(after) = after.filter(|a| Some(*a) != before) {
            diff.insert(field.into(), json!({"before": before, "after": after}));
        }
    }
    if let Some(first) = first_name {
        person.first_name = Set(first);
    }
    if let Some(last) = last_name {
        person.last_name = Set(last);
    }
    if let Some(phone) = profile
        .phone
        .map(|p| p.map(Phone::into_inner))
        .filter(|p| *p != target.phone)
    {
        diff.insert(
            "phone".into(),
            json!({"before": target.phone, "after": phone}),
        );
        person.phone = Set(phone);
    }
    if diff.is_empty() {
        return Ok(target);
    }
    if person.is_changed() {
        super::update_person(tx, target.person_id, person).await?;
    }
    if member.is_changed() {
        member.id = Set(id);
        member.updated_at = Set(Utc::now());
        member
            .update(tx)
            .await
            .map_err(|e| super::manage::role_deleted_meanwhile(e, super::conflict_if_taken))?;
    }
    let updated = super::reread(tx, id).await?;
    scope.profile_changed(id);
    if invalidate {
        sessions::revoke_all(tx, id, None, "user_changed").await?;
        scope.revoke(Revoked::User(id)).await?;
    }
    if new_password {
        sessions::end_person(tx, target.person_id, (None, None), "user_changed").await?;
        scope.revoke(Revoked::Person(target.person_id)).await?;
    }
    if role_changes || diff.contains_key("is_active") {
        revoke_invitations_of(tx, id).await?;
    }
    record(scope, "user.updated", &updated, Value::Object(diff)).await?;
    Ok(updated)
}
