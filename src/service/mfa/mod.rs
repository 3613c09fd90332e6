//! Multi-factor sign-in: TOTP factors with recovery codes ([`enrol`]), the second step of a
//! sign-in and step-up ([`verify`]), support's reset ([`reset`]), and what a session's tokens
//! say about the second factor ([`authn`]): `amr`, `auth_time` and the user's [`Standing`].
//!
//! Who must have a factor: the roles of `auth.mfa.required_roles`, and every user of a
//! dealership with `mfa_required`. Such a user without one gets a session that may only enrol
//! (`must_enrol`); a user with one signs in in two steps and must prove it again, within
//! `auth.mfa.step_up_max_age_secs`, before a sensitive change ([`require_step_up`]).

pub mod enrol;
pub mod reset;
pub mod store;
pub mod verify;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use crate::{
    auth::{jwt::Authn, mfa::Standing},
    config::MfaSettings,
    domain::Role,
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::Caller,
    service::{audit, user_mail},
    state::AppState,
    tenancy::TenantTx,
};

pub use store::{Answer, Proof};

/// Counts an MFA event (`dealergate_mfa_events_total`).
pub fn count(event: &str) {
    crate::metrics::metrics()
        .mfa
        .with_label_values(&[event])
        .inc();
}

/// Counts what a right answer used, once its transaction committed.
pub fn count_proof(proof: Proof) {
    if proof == Proof::RecoveryCode {
        count("recovery_code_used");
    }
}

fn standing(settings: &MfaSettings, role: Role, enrolled: bool, dealership: bool) -> Standing {
    if enrolled {
        Standing::Enrolled
    } else if dealership || settings.required_roles.contains(&role) {
        Standing::MustEnrol
    } else {
        Standing::Optional
    }
}

#[derive(FromQueryResult)]
struct SessionRow {
    created_at: DateTime<Utc>,
    mfa_at: Option<DateTime<Utc>>,
    enrolled: bool,
    dealership_requires: bool,
}

/// How session `session_id` of `user` was authenticated, and where the user stands, as its
/// next tokens will say (read in the transaction that issues them).
pub async fn authn(
    tx: &TenantTx,
    settings: &MfaSettings,
    user: &user::Model,
    session_id: Uuid,
) -> Result<Authn, AppError> {
    let row = SessionRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT coalesce(s.authenticated_at, s.created_at) AS created_at, s.mfa_at, \
                EXISTS (SELECT 1 FROM mfa_factors f \
                        WHERE f.person_id = $3 AND f.confirmed_at IS NOT NULL) AS enrolled, \
                (coalesce((SELECT d.mfa_required FROM dealerships d \
                           WHERE d.id = s.dealership_id), false) \
                 OR {GROUP_REQUIRES}) AS dealership_requires \
         FROM sessions s WHERE s.id = $1 AND s.user_id = $2",
            GROUP_REQUIRES = group_requires("$4")
        ),
        [
            session_id.into(),
            user.id.into(),
            user.person_id.into(),
            user.group_id.into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or(AppError::Unauthenticated)?;
    if row.enrolled && row.mfa_at.is_none() {
        // a session that never proved the user's app (one that raced the enrolment) goes no
        // further than the access token it has
        return Err(AppError::Unauthenticated);
    }
    Ok(Authn {
        auth_time: row.mfa_at.unwrap_or(row.created_at).timestamp(),
        otp: row.mfa_at.is_some(),
        standing: standing(settings, user.role, row.enrolled, row.dealership_requires),
    })
}

/// A group membership (its group the parameter `group`) must prove a second factor where any
/// live dealership of its group requires one: it acts in every one of them.
fn group_requires(group: &str) -> String {
    format!(
        "({group}::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM dealerships g \
          WHERE g.group_id = {group}::uuid AND g.mfa_required AND g.is_active \
            AND g.deleted_at IS NULL))"
    )
}

#[derive(FromQueryResult)]
struct UserRow {
    enrolled: bool,
    dealership_requires: bool,
}

/// Where `user` stands before any session exists (a password just checked).
pub async fn standing_of(
    tx: &TenantTx,
    settings: &MfaSettings,
    user: &user::Model,
) -> Result<Standing, AppError> {
    let row = UserRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT EXISTS (SELECT 1 FROM mfa_factors \
                        WHERE person_id = $1 AND confirmed_at IS NOT NULL) AS enrolled, \
                (coalesce((SELECT mfa_required FROM dealerships WHERE id = $2), false) \
                 OR {GROUP_REQUIRES}) AS dealership_requires",
            GROUP_REQUIRES = group_requires("$3")
        ),
        [
            user.person_id.into(),
            user.dealership_id.into(),
            user.group_id.into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("no row from a SELECT")))?;
    Ok(standing(
        settings,
        user.role,
        row.enrolled,
        row.dealership_requires,
    ))
}

/// 403 `step_up_required` unless the caller proved a second factor within
/// `auth.mfa.step_up_max_age_secs`, or has none (for a change made from a [`Grant`](crate::scope::Grant),
/// before its transaction; a [`RequestScope`](crate::scope::RequestScope) asks its own).
pub async fn require_step_up(state: &AppState, me: &Caller) -> Result<(), AppError> {
    let max_age = state.settings.auth.mfa.step_up_max_age_secs;
    if crate::auth::mfa::step_up_standing(me, max_age) == Some(true) {
        return Ok(());
    }
    let tx = state.db.begin_reading(me.scope()).await?;
    let checked = crate::auth::mfa::require_step_up(&tx, me, max_age).await;
    tx.commit().await?;
    checked
}

/// Marks session `session_id` as having proven a second factor now.
pub async fn mark_session(tx: &TenantTx, session_id: Uuid) -> Result<(), AppError> {
    use sea_orm::ConnectionTrait;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE sessions SET mfa_at = now() WHERE id = $1",
        [session_id.into()],
    ))
    .await?;
    Ok(())
}

/// Ends the user's sessions (but `keep`) that never proved a second factor, on every replica
/// once `tx` commits: an app was just confirmed, so they are what a stolen password opened.
pub async fn end_password_only_sessions(
    tx: &TenantTx,
    user_id: Uuid,
    keep: Uuid,
) -> Result<(), AppError> {
    use sea_orm::ConnectionTrait;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE sessions SET revoked_at = now(), revoked_reason = 'mfa_enrolled' \
         WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL AND mfa_at IS NULL",
        [user_id.into(), keep.into()],
    ))
    .await?;
    crate::auth::sessions::publish(tx, crate::auth::sessions::Revoked::User(user_id)).await
}

/// Queues the security notice `kind` to `user` in `tx`.
pub async fn notify(
    state: &AppState,
    tx: &TenantTx,
    kind: Kind,
    user: &user::Model,
) -> Result<(), AppError> {
    let notice = user_mail::compose(state, tx, kind, user, String::new(), 0).await?;
    outbox::enqueue(tx, notice).await?;
    Ok(())
}

/// An MFA event about `user`'s account, by `actor` (themselves, or support).
pub fn event(
    action: &'static str,
    user: &user::Model,
    actor: Uuid,
    changes: Option<serde_json::Value>,
) -> audit::Event {
    audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(actor),
        action,
        target_type: "user",
        target_id: Some(user.id),
        changes,
    }
}
