//! Signing up with an invitation: the invited address, role and dealership become a user whose
//! email counts as verified, and the new session's tokens are handed out. The token works once,
//! however many try at once; not after expiry, revocation or a resend; not into a suspended or
//! deleted dealership; and not while the address belongs to a live user (409: the invitation
//! stays usable, should that user be deleted).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel,
    QueryFilter, Set, Statement,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::{
        account_token::AccountToken,
        password,
        principal::scope_of,
        throttle::{self, Counter, Who},
    },
    domain::{Email, NewPassword, PersonName, Phone, SignInName},
    entity::{
        dealership,
        invitation::{self, Status},
        person, user,
    },
    error::AppError,
    scope::RequestMeta,
    service::{
        audit,
        roles::assign::Placement,
        sign_in::{self, Issued},
        users::{
            self,
            manage::{NewUser, insert},
        },
    },
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// What the person signing up chooses; the address and the role come from the invitation (or,
/// in an open signup, the address from the request and the role from the rules).
pub struct Signup {
    pub password: String,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Option<Phone>,
}

#[derive(Debug, FromQueryResult)]
struct Found {
    invitation_id: Uuid,
    dealership_id: Option<Uuid>,
}

fn invalid() -> AppError {
    AppError::field("invitation_token", "is invalid or has expired")
}

pub async fn signup(
    state: &AppState,
    invitation_token: &str,
    signup: Signup,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let (token, invitation) = presented(state, invitation_token).await?;
    let scope = scope_of(invitation.dealership_id, None);
    let email = Email::parse(&invitation.email).map_err(AppError::internal)?;
    // every attempt on an invitation counts, per invitation and per client IP
    throttled(state, invitation.id, meta).await?;
    let password = chosen(&signup.password, &email)?;
    let tx = state.db.begin_reading(scope).await?;
    let free = names_free(&tx, &email, signup.phone.as_ref()).await;
    tx.commit().await?;
    free.map_err(join_instead)?;
    let hash = password::hash(password.expose().to_owned()).await?;

    let tx = state.db.begin(scope).await?;
    // the invitation first: of ten signups at once, one takes it and the others wait here
    // and then find it accepted
    let invitation = accept(&tx, &token, invitation.id).await?;
    let new = NewUser {
        email,
        password,
        first_name: signup.first_name,
        last_name: signup.last_name,
        phone: signup.phone,
    };
    let placed = placement_of(&invitation);
    // 409 naming the email or the phone if either is taken by now
    let created = insert(&tx, new, placed, hash).await.map_err(join_instead)?;
    // the invitation reached this mailbox
    let verified = person::ActiveModel {
        email_verified_at: Set(Some(Utc::now())),
        ..Default::default()
    };
    users::update_person(&tx, created.person_id, verified).await?;
    let user = users::reread(&tx, created.id).await?;
    let issued = admit(state, &tx, &invitation, user, meta).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Where an invitation puts whoever accepts it.
pub(super) fn placement_of(invitation: &invitation::Model) -> Placement {
    Placement {
        dealership_id: invitation.dealership_id,
        role: invitation.role,
        custom_role_id: invitation.custom_role_id,
    }
}

/// `user` accepted `invitation` (marked, audited) and is signed in there, in `tx`.
pub(super) async fn admit(
    state: &AppState,
    tx: &TenantTx,
    invitation: &invitation::Model,
    user: user::Model,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let mut accepted = invitation.clone().into_active_model();
    accepted.accepted_user_id = Set(Some(user.id));
    accepted.update(tx).await?;
    let refresh_token = sign_in::open_session(state, tx, &user, meta).await?;
    record(tx, meta, invitation, &user).await?;
    sign_in::issue_in(state, tx, user, refresh_token).await
}

/// The invitation `raw` is the live token of, and the token; 422 on `invitation_token`
/// otherwise. Read before anything slow, in transactions that end at once.
pub(super) async fn presented(
    state: &AppState,
    raw: &str,
) -> Result<(AccountToken, invitation::Model), AppError> {
    let token = AccountToken::parse(raw).ok_or_else(invalid)?;
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let found = Found::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT invitation_id, dealership_id FROM auth_invitation_lookup($1)",
        [token.id.into()],
    ))
    .one(&tx)
    .await?;
    tx.commit().await?;
    let found = found.ok_or_else(invalid)?;
    let tx = state
        .db
        .begin_reading(scope_of(found.dealership_id, None))
        .await?;
    let invitation = usable(&tx, &token, found.invitation_id).await?;
    tx.commit().await?;
    Ok((token, invitation))
}

/// The invited address signs in already: said to the invitation's holder (who holds its
/// mailbox), with where to accept it instead.
fn join_instead(err: AppError) -> AppError {
    match err {
        AppError::Conflict(m) if m.contains("email") => AppError::Conflict(
            "this email signs in already: accept the invitation with its password at \
             POST /api/v1/auth/join"
                .into(),
        ),
        other => other,
    }
}

/// 429 while the invitation or the client IP is locked; otherwise counts this attempt, whatever
/// its outcome (counted and checked in one statement). Keyed by the invitation, not its address:
/// nobody else's attempts with the address (an open signup) use its budget up.
pub(super) async fn throttled(
    state: &AppState,
    invitation_id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let (lockout, ip) = (&state.settings.auth.lockout, meta.ip.as_deref());
    let who = Who::Invitation(invitation_id);
    throttle::take_now(&state.db, Counter::Signup, lockout, who, ip).await
}

/// The chosen password if the policy takes it (422 on `password`).
pub(crate) fn chosen(chosen: &str, email: &Email) -> Result<NewPassword, AppError> {
    NewPassword::parse(chosen, Some(email.as_str()))
        .map_err(|invalid| AppError::field("password", invalid.message()))
}

/// 409 if a live user signs in with `email` or `phone` already (the insert asks again).
pub(crate) async fn names_free(
    tx: &TenantTx,
    email: &Email,
    phone: Option<&Phone>,
) -> Result<(), AppError> {
    let names = [
        Some(SignInName::from(email.clone())),
        phone.cloned().map(SignInName::Phone),
    ];
    for name in names.iter().flatten() {
        if users::login_candidate(tx, name).await?.is_some() {
            return Err(crate::service::taken::taken(name));
        }
    }
    Ok(())
}

/// The invitation, if `token` is its live token and its dealership takes members.
async fn usable(
    tx: &TenantTx,
    token: &AccountToken,
    id: Uuid,
) -> Result<invitation::Model, AppError> {
    let invitation = invitation::Entity::find_by_id(id)
        .one(tx)
        .await?
        .filter(|i| {
            i.token_id == token.id
                && token.matches(&i.token_hash)
                && i.status(Utc::now()) == Status::Pending
        })
        .ok_or_else(invalid)?;
    ensure_open(tx, invitation.dealership_id).await?;
    Ok(invitation)
}

/// Marks the invitation accepted (locking its row) if it is still usable with `token`.
pub(super) async fn accept(
    tx: &TenantTx,
    token: &AccountToken,
    id: Uuid,
) -> Result<invitation::Model, AppError> {
    let now = Utc::now();
    let done = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, now.into())
        .col_expr(invitation::Column::UpdatedAt, now.into())
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::TokenId.eq(token.id))
        .filter(invitation::Column::TokenHash.eq(token.hash()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(tx)
        .await?;
    if done.rows_affected != 1 {
        return Err(invalid());
    }
    let accepted = invitation::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or_else(invalid)?;
    // the dealership may have been suspended since the first look
    ensure_open(tx, accepted.dealership_id).await?;
    Ok(accepted)
}

/// A dealership that takes members: live and active (platform invitations have none).
async fn ensure_open(tx: &TenantTx, dealership_id: Option<Uuid>) -> Result<(), AppError> {
    let Some(id) = dealership_id else {
        return Ok(());
    };
    if takes_members(tx, id).await? {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// The dealership is live and active: people may join it.
pub(crate) async fn takes_members(tx: &TenantTx, id: Uuid) -> Result<bool, AppError> {
    Ok(dealership::Entity::find_by_id(id)
        .filter(dealership::Column::DeletedAt.is_null())
        .filter(dealership::Column::IsActive.eq(true))
        .one(tx)
        .await?
        .is_some())
}

/// `invitation.accepted`, and `user.created` for the directory's history, both by the new user.
async fn record(
    tx: &TenantTx,
    meta: &RequestMeta,
    invitation: &invitation::Model,
    user: &user::Model,
) -> Result<(), AppError> {
    let created = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "user.created",
        target_type: "user",
        target_id: Some(user.id),
        changes: Some(json!({
            "email": user.email, "role": user.role, "dealership_id": user.dealership_id,
            "by": "invitation",
        })),
    };
    audit::record(tx, meta, created).await?;
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "invitation.accepted",
        target_type: "invitation",
        target_id: Some(invitation.id),
        changes: Some(json!({
            "email": user.email, "role": user.role, "user_id": user.id,
            "invited_by": invitation.invited_by,
        })),
    };
    audit::record(tx, meta, event).await
}
