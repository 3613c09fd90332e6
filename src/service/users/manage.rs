//! Managing staff: create, delete, end sessions. The rank rules hold on each: nobody creates,
//! promotes or edits a user above their own rank, and nobody changes the password, email, role
//! or activity of a user of their own rank or above (a peer must never be able to take a peer's
//! account over). One's own account changes through `/auth/me` and `/auth/password`; an admin's
//! credentials only by its owner or `dealergate admin`. Edits are in [`super::edit`].

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::directory;
use crate::{
    auth::{password, principal::Principal, sessions::Revoked},
    authz::Reach,
    domain::{Email, NewPassword, PersonName, Phone, Role, RoleName, SignInName},
    entity::{dealership, invitation, membership, person, user},
    error::{AppError, conflict_naming},
    scope::{Grant, RequestMeta, RequestScope},
    service::{
        audit, email_verification,
        roles::assign::{self, Placement},
        sessions,
        taken::{self, Verdict},
    },
    state::AppState,
    tenancy::TenantTx,
};

/// A validated new user; where they go and as what is a [`Placement`].
pub struct NewUser {
    pub email: Email,
    pub password: NewPassword,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Option<Phone>,
}

/// What a caller asks for a new member: a role (built-in or custom) and, for an admin, the
/// dealership.
pub struct Asked {
    pub role: RoleName,
    pub dealership_id: Option<Uuid>,
}

/// `who` may act on users of `role`'s rank (edit profiles, create, end sessions).
pub(crate) fn outranks(who: &Principal, role: Role) -> Result<(), AppError> {
    if role.rank() > who.role.rank() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// `who` may change the account (password, email, role, activity) of someone of `role`: only
/// strictly below their own rank, so equals cannot take each other over.
pub(crate) fn governs_account_of(who: &Principal, role: Role) -> Result<(), AppError> {
    if role.rank() >= who.role.rank() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Where a new member of `role` goes when the scope's caller adds them (a user, an
/// invitation): at most the caller's rank; admins nowhere; an admin names the dealership, a
/// principal's go to the principal's own (another one is 404).
pub(crate) fn placement(
    scope: &RequestScope,
    role: Role,
    requested: Option<Uuid>,
) -> Result<Option<Uuid>, AppError> {
    let who = scope.principal();
    outranks(who, role)?;
    Ok(match (scope.reach(), role) {
        (Reach::Own, _) => return Err(AppError::Forbidden),
        (_, role) if role.is_group() => {
            return Err(AppError::field(
                "role",
                "a group role is held in a dealer group: /api/v1/dealer-groups/{id}/members",
            ));
        }
        (_, Role::Admin) if requested.is_some() => {
            return Err(AppError::field(
                "dealership_id",
                "admins belong to no dealership",
            ));
        }
        (_, Role::Admin) => None,
        // a group's: one of the group's dealerships, named ([`super::super::roles::placed`]
        // finds it in the group's transaction or answers 404)
        (Reach::Any | Reach::Group, _) => Some(
            requested
                .ok_or_else(|| AppError::field("dealership_id", "is required for this role"))?,
        ),
        (Reach::Dealership, _) => match requested {
            Some(d) if Some(d) != who.dealership_id => {
                return Err(AppError::NotFound("dealership"));
            }
            _ => who.dealership_id,
        },
    })
}

/// Creates a user at most of the caller's rank. The password is hashed first, off the async
/// threads and before the transaction opens, so no connection waits for the hasher.
pub async fn create(
    state: &AppState,
    grant: &Grant,
    new: NewUser,
    asked: Asked,
) -> Result<user::Model, AppError> {
    if asked.role.is_principal_or_above() {
        crate::service::mfa::require_step_up(state, grant.caller()).await?;
    }
    // an email or phone another account holds is a counted answer (crate::service::taken)
    taken::refuse_if_locked(state, grant.caller()).await?;
    // hashed whatever follows: an address with an account answers in the same time
    let hash = password::hash(new.password.expose().to_owned()).await?;
    let scope = state.open(grant).await?;
    if let Some(invited) = super::people::invite_instead(state, &scope, &new, &asked).await? {
        scope.commit().await?;
        return Ok(invited);
    }
    let names = [
        Some(SignInName::from(new.email.clone())),
        new.phone.clone().map(SignInName::Phone),
    ];
    let names: Vec<_> = names.into_iter().flatten().collect();
    if let Verdict::Refused(answer) =
        taken::judge(scope.tx(), state, grant.caller(), &names, None).await?
    {
        scope.commit().await?;
        return Err(answer);
    }
    let created = match create_in(&scope, new, asked, hash).await {
        Err(err @ AppError::Conflict(_)) => {
            drop(scope);
            return Err(taken::counted(state, grant.caller(), err).await);
        }
        other => other?,
    };
    // the verification link goes with the new account, or neither does
    email_verification::send_in(state, scope.tx(), &created).await?;
    scope.commit().await?;
    Ok(created)
}

/// Where a new user goes: an admin names the dealership (none for admins); a principal's
/// users join the principal's own dealership, and naming another one finds nothing.
async fn create_in(
    scope: &RequestScope,
    new: NewUser,
    asked: Asked,
    password_hash: String,
) -> Result<user::Model, AppError> {
    let tx = scope.tx();
    let placed = assign::placed(scope, &asked.role, asked.dealership_id).await?;
    let created = insert(tx, new, placed, password_hash).await?;
    let changes = json!({
        "email": created.email, "role": created.role, "custom_role_id": created.custom_role_id,
        "dealership_id": created.dealership_id, "first_name": created.first_name,
        "last_name": created.last_name, "phone": created.phone,
    });
    record(scope, "user.created", &created, changes).await?;
    Ok(created)
}

/// An operator's user (`dealergate admin create-user`): no caller, no rank; audited as made by
/// no one. `None` if a live user has the email already (nothing changes).
pub async fn create_by_operator(
    tx: &TenantTx,
    new: NewUser,
    placed: Placement,
    password_hash: String,
    meta: &RequestMeta,
) -> Result<Option<user::Model>, AppError> {
    if super::login_candidate(tx, &new.email.clone().into())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    if (placed.role == Role::Admin) != placed.dealership_id.is_none() {
        return Err(AppError::field(
            "dealership",
            "admins, and only admins, belong to no dealership",
        ));
    }
    let created = insert(tx, new, placed, password_hash).await?;
    // the operator vouches for the address (the first admin must be able to sign in)
    let verified = person::ActiveModel {
        email_verified_at: Set(Some(Utc::now())),
        ..Default::default()
    };
    super::update_person(tx, created.person_id, verified).await?;
    let created = super::reread(tx, created.id).await?;
    let event = audit::Event {
        dealership_id: created.dealership_id,
        actor_id: None,
        action: "user.created",
        target_type: "user",
        target_id: Some(created.id),
        changes: Some(json!({"email": created.email, "role": created.role, "by": "operator"})),
    };
    audit::record(tx, meta, event).await?;
    Ok(Some(created))
}

/// Adds the user where `placed` says; the dealership must exist and not be deleted (404).
pub(crate) async fn insert(
    tx: &TenantTx,
    new: NewUser,
    placed: Placement,
    password_hash: String,
) -> Result<user::Model, AppError> {
    if let Some(d) = placed.dealership_id {
        let live = dealership::Entity::find_by_id(d)
            .one(tx)
            .await?
            .is_some_and(|d| d.deleted_at.is_none());
        if !live {
            return Err(AppError::NotFound("dealership"));
        }
    }
    // a new person's first membership shares the person's id
    let id = Uuid::now_v7();
    let person = person::ActiveModel {
        id: Set(id),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(password_hash),
        first_name: Set(new.first_name.into_inner()),
        last_name: Set(new.last_name.into_inner()),
        phone: Set(new.phone.map(Phone::into_inner)),
        ..Default::default()
    };
    // not RETURNING: the new person is visible only once their membership exists
    person::Entity::insert(person)
        .exec_without_returning(tx)
        .await
        .map_err(super::conflict_if_taken)?;
    add_membership(tx, id, id, placed, None).await
}

/// Adds membership `id` of person `person_id` where `placed` says, added by `added_by`;
/// 409 if the person is a member there already.
pub(crate) async fn add_membership(
    tx: &TenantTx,
    person_id: Uuid,
    id: Uuid,
    placed: Placement,
    added_by: Option<Uuid>,
) -> Result<user::Model, AppError> {
    let membership = membership::ActiveModel {
        id: Set(id),
        person_id: Set(person_id),
        dealership_id: Set(placed.dealership_id),
        role: Set(placed.role),
        custom_role_id: Set(placed.custom_role_id),
        added_by: Set(added_by),
        ..Default::default()
    };
    membership::Entity::insert(membership)
        .exec_without_returning(tx)
        .await
        .map_err(|e| {
            role_deleted_meanwhile(e, |e| {
                conflict_naming(e, |_| "a membership of this person in this dealership")
            })
        })?;
    super::reread(tx, id).await
}

/// A write that names a custom role whose row went between finding it and writing (its delete
/// waited for nobody holding it, and won): 422 on `role`; anything else as `otherwise` says.
pub(crate) fn role_deleted_meanwhile(
    err: sea_orm::DbErr,
    otherwise: impl FnOnce(sea_orm::DbErr) -> AppError,
) -> AppError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(m)) if m.contains("custom_role") => {
            AppError::field("role", "the custom role was deleted meanwhile")
        }
        _ => otherwise(err),
    }
}

/// Soft delete: the row stays for the audit trail, the email becomes free, sessions end.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let who = scope.principal();
    if id == who.user_id {
        return Err(AppError::field(
            "id",
            "you cannot delete yourself here; close your own account with DELETE /api/v1/auth/me",
        ));
    }
    let target = directory::get(scope, id).await?;
    governs_account_of(who, target.role)?;
    scope.require_step_up().await?;
    let deleted = soft_delete(scope, target, "user_deleted").await?;
    let changes = json!({"email": deleted.email});
    record(scope, "user.deleted", &deleted, changes).await
}

/// The soft delete itself, for staff deleting a user and a user closing their own account:
/// the row is kept (deleted, inactive, its token version bumped), every session ends with
/// `reason`, and every replica drops the user at commit. The caller audits it.
pub(crate) async fn soft_delete(
    scope: &RequestScope,
    target: user::Model,
    reason: &str,
) -> Result<user::Model, AppError> {
    let id = target.id;
    // the person goes with their last membership (their email and phone are free again);
    // first, while this membership still shows them
    if super::people::other_memberships(scope.tx(), target.person_id, id).await? == 0 {
        let closed = person::ActiveModel {
            deleted_at: Set(Some(Utc::now())),
            token_version: Set(target.token_version + 1),
            ..Default::default()
        };
        super::update_person(scope.tx(), target.person_id, closed).await?;
    }
    let now = Utc::now();
    let deleted = membership::ActiveModel {
        id: Set(id),
        deleted_at: Set(Some(now)),
        is_active: Set(false),
        // a deleted membership holds no custom role, so the role can be deleted
        custom_role_id: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    deleted.update(scope.tx()).await?;
    // not read again: a person who went with it is no longer visible here
    let deleted = user::Model {
        deleted_at: Some(now),
        is_active: false,
        custom_role_id: None,
        updated_at: now,
        ..target
    };
    scope.profile_changed(id);
    sessions::revoke_all(scope.tx(), id, None, reason).await?;
    scope.revoke(Revoked::User(id)).await?;
    revoke_invitations_of(scope.tx(), id).await?;
    Ok(deleted)
}

/// Revokes the invitations user `id` sent that nobody has used yet: they stand on the sender's
/// authority, which a deletion, deactivation or role change has just ended or narrowed.
pub(crate) async fn revoke_invitations_of(tx: &TenantTx, id: Uuid) -> Result<(), AppError> {
    revoke_invitations_sent_by(tx, invitation::Column::InvitedBy.eq(id)).await
}

/// Revokes the invitations nobody has used yet whose sender `sent_by` selects, in one update.
pub(crate) async fn revoke_invitations_sent_by(
    tx: &TenantTx,
    sent_by: sea_orm::sea_query::SimpleExpr,
) -> Result<(), AppError> {
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Utc::now().into())
        .col_expr(invitation::Column::UpdatedAt, Utc::now().into())
        .filter(sent_by)
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

/// Ends every session of user `id` (an admin or principal acting on staff).
pub async fn end_sessions(scope: &RequestScope, id: Uuid) -> Result<u64, AppError> {
    let target = directory::get(scope, id).await?;
    outranks(scope.principal(), target.role)?;
    if id != scope.principal().user_id {
        scope.require_step_up().await?;
    }
    let reason = "revoked_by_staff";
    sessions::end_all(scope, id, target.dealership_id, None, reason).await
}

/// Audits a change to `target` made by the scope's caller.
pub(super) async fn record(
    scope: &RequestScope,
    action: &'static str,
    target: &user::Model,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: target.dealership_id,
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "user",
        target_id: Some(target.id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}
