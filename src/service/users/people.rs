//! What staff and the person do to a person beyond one dealership's rows: the credential rule,
//! closing the person, counting their other memberships. RLS hides the other dealerships'
//! memberships from the caller's transaction, so each asks a definer function of migration 000018
//! that sees them all and answers only for a person with a membership in the asking scope.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Set, Statement};
use uuid::Uuid;

use super::manage::{governs_account_of, revoke_invitations_of};
use crate::{
    auth::{principal::Principal, sessions::Revoked},
    entity::{person, user},
    error::AppError,
    scope::RequestScope,
    service::sessions,
    tenancy::TenantTx,
};

/// `who` may change the credentials (email, phone, password, second factors) of `target`'s
/// person: their own, or a person every one of whose memberships that is not deleted — active
/// or not — is within `who`'s scope and strictly below `who`'s rank. RLS hides the other
/// dealerships' memberships from this transaction, so the definer function `person_managed_by`
/// answers (yes or no, never where); otherwise 403 "this person manages their own sign-in".
pub(crate) async fn governs_credentials_of(
    tx: &TenantTx,
    who: &Principal,
    target: &user::Model,
) -> Result<(), AppError> {
    if target.person_id == who.person_id {
        return Ok(());
    }
    governs_account_of(who, target.role)?;
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT person_managed_by($1, $2) AS yes",
            [target.person_id.into(), i32::from(who.role.rank()).into()],
        ))
        .await?;
    let yes = row.map(|r| r.try_get::<bool>("", "yes")).transpose()?;
    if yes != Some(true) {
        return Err(AppError::OwnSignIn);
    }
    Ok(())
}

/// Closes `target`'s person (their own account): the person deleted (their email and phone
/// free again, a new credential generation), every membership of theirs ended in every
/// dealership (the definer function reaches what RLS hides) and every session with them,
/// announced to every replica at commit. Returns `target` as it was; the caller audits it.
pub(crate) async fn close_person(
    scope: &RequestScope,
    target: user::Model,
) -> Result<user::Model, AppError> {
    let tx = scope.tx();
    let closed = person::ActiveModel {
        deleted_at: Set(Some(Utc::now())),
        token_version: Set(target.token_version + 1),
        ..Default::default()
    };
    super::update_person(tx, target.person_id, closed).await?;
    // while the memberships are live: the definer functions answer for them only
    sessions::end_person(tx, target.person_id, (None, None), "account_closed").await?;
    let ended = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT user_id FROM person_close_memberships($1)",
            [target.person_id.into()],
        ))
        .await?;
    for row in ended {
        // the invitations they sent here end (other dealerships' rows are hidden here)
        revoke_invitations_of(tx, row.try_get::<Uuid>("", "user_id")?).await?;
    }
    scope.profile_changed(target.id);
    scope.revoke(Revoked::Person(target.person_id)).await?;
    Ok(target)
}

/// How many memberships person `person_id` has, not deleted, but `except` (all dealerships:
/// the definer function counts what RLS hides).
pub(crate) async fn other_memberships(
    tx: &TenantTx,
    person_id: Uuid,
    except: Uuid,
) -> Result<i64, AppError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT person_other_memberships($1, $2) AS n",
            [person_id.into(), except.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// `POST /users` with an address that signs in already, as someone who is not a member here:
/// nothing is created (staff never set the password of a person who exists elsewhere); the
/// address is invited instead, and the answer is the user they become by accepting it (the
/// membership then takes the invitation's id), as for a new address. `None`: a new address,
/// or someone of this dealership (judged as a taken address).
pub(crate) async fn invite_instead(
    state: &crate::state::AppState,
    scope: &RequestScope,
    new: &super::manage::NewUser,
    asked: &super::manage::Asked,
) -> Result<Option<user::Model>, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use crate::{
        domain::{Phone, SignInName},
        entity::dealership,
        service::invitations::{self, NewInvitation},
    };
    let tx = scope.tx();
    let name = SignInName::from(new.email.clone());
    let Some(person) = super::login_candidate(tx, &name).await? else {
        return Ok(None);
    };
    let mut here = user::Entity::find()
        .filter(user::Column::PersonId.eq(person.person_id))
        .filter(user::Column::DeletedAt.is_null());
    if let (crate::authz::Reach::Group, Some(target)) = (scope.reach(), asked.dealership_id) {
        // a group's principal reaches every rooftop of the group: a colleague from a sibling
        // rooftop is invited into this one (they accept with their own password), like anyone
        here = here.filter(user::Column::DealershipId.eq(target));
    }
    let here = here.one(tx).await?;
    if here.is_some() {
        return Ok(None);
    }
    let invited = NewInvitation {
        email: new.email.clone(),
        role: asked.role.clone(),
        dealership_id: asked.dealership_id,
        first_name: Some(new.first_name.clone()),
        last_name: Some(new.last_name.clone()),
    };
    let invitation = invitations::create(state, scope, invited).await?;
    let dealership_name = match invitation.dealership_id {
        Some(id) => dealership::Entity::find_by_id(id)
            .one(tx)
            .await?
            .map(|d| d.name),
        None => None,
    };
    Ok(Some(user::Model {
        id: invitation.id,
        dealership_id: invitation.dealership_id,
        group_id: None,
        person_id: invitation.id,
        email: invitation.email,
        password_hash: String::new(),
        first_name: new.first_name.clone().into_inner(),
        last_name: new.last_name.clone().into_inner(),
        phone: new.phone.clone().map(Phone::into_inner),
        role: invitation.role,
        custom_role_id: invitation.custom_role_id,
        is_active: true,
        token_version: 0,
        last_login: None,
        email_verified_at: None,
        created_at: invitation.created_at,
        updated_at: invitation.created_at,
        deleted_at: None,
        added_by: invitation.invited_by,
        dealership_name,
    }))
}

/// Whether `user`, as [`create`](super::manage::create) answered, is the invitation that
/// [`invite_instead`] sent rather than a new account: it has no password of its own.
pub(crate) fn is_invitation(user: &user::Model) -> bool {
    user.password_hash.is_empty()
}

/// An admin's merge of two people into one (today's two-rooftop staff have an account per
/// rooftop): every live membership of `from`'s person moves to `into`'s person, whose names,
/// sign-in names, password and second factors stay; `from`'s person is closed — sessions ended
/// everywhere, factors and recovery codes gone, the address free again. With step-up; admins'
/// accounts are never merged (a peer must not take a peer over); 409 if the two people are
/// members of one dealership. Audited; every replica drops both people's cached state.
pub async fn merge(scope: &RequestScope, into: Uuid, from: Uuid) -> Result<user::Model, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use crate::{authz::Reach, domain::Role, service::mfa::store};
    if scope.reach() != Reach::Any {
        return Err(AppError::Forbidden);
    }
    scope.require_step_up().await?;
    let tx = scope.tx();
    let keep = super::directory::get(scope, into).await?;
    let gone = super::directory::get(scope, from).await?;
    if keep.person_id == gone.person_id {
        return Err(AppError::field("from", "is the same person already"));
    }
    // nor any admin's person, by any of its memberships: a peer never takes a peer over
    let admins = user::Entity::find()
        .filter(user::Column::PersonId.is_in([keep.person_id, gone.person_id]))
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DeletedAt.is_null())
        .one(tx)
        .await?;
    if admins.is_some() {
        return Err(AppError::Forbidden);
    }
    // while the memberships still name the person whose sessions these are
    sessions::end_person(tx, gone.person_id, (None, None), "merged").await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE memberships SET person_id = $1, updated_at = now() \
         WHERE person_id = $2 AND deleted_at IS NULL",
        [keep.person_id.into(), gone.person_id.into()],
    ))
    .await
    .map_err(|e| {
        crate::error::conflict_naming(e, |_| "a membership of both people in one dealership")
    })?;
    store::remove_all(tx, gone.person_id).await?;
    let closed = person::ActiveModel {
        deleted_at: Set(Some(Utc::now())),
        token_version: Set(gone.token_version + 1),
        ..Default::default()
    };
    // platform scope: the person is visible without a membership
    super::update_person(tx, gone.person_id, closed).await?;
    scope.revoke(Revoked::Person(gone.person_id)).await?;
    scope.revoke(Revoked::Person(keep.person_id)).await?;
    let event = crate::service::audit::Event {
        dealership_id: None,
        actor_id: Some(scope.principal().user_id),
        action: "person.merged",
        target_type: "user",
        target_id: Some(keep.id),
        changes: Some(serde_json::json!({
            "into": {"user_id": keep.id, "email": keep.email},
            "from": {"user_id": gone.id, "email": gone.email},
        })),
    };
    crate::service::audit::record_in(scope, event).await?;
    super::reread(tx, keep.id).await
}
