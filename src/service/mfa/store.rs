//! Where factors and recovery codes live (`mfa_factors`, `mfa_recovery_codes`, tenant tables),
//! always in the user's own tenant transaction. A TOTP step and a recovery code are each taken
//! by one conditional UPDATE, so two requests racing with the same code cannot both pass.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use crate::{
    auth::mfa::{SecretBox, recovery, totp},
    entity::user,
    error::AppError,
    tenancy::TenantTx,
};

/// Confirmed factors a user may hold at once (an app on a phone and one on a tablet, say).
pub const MAX_FACTORS: i64 = 5;
/// How long a pending factor waits for its first code.
const PENDING_SECS: f64 = 15.0 * 60.0;

/// A factor as its owner sees it: never its secret.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Factor {
    pub id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What proves the second factor: a code from an authenticator app, or a recovery code.
#[derive(Debug, Clone)]
pub enum Answer {
    Code(String),
    RecoveryCode(String),
}

/// What a right answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// A new pending factor for `user` with a new secret (the user's older pending factors end);
/// 409 if they hold [`MAX_FACTORS`] already.
pub async fn add_pending(
    tx: &TenantTx,
    sealer: &SecretBox,
    user: &user::Model,
) -> Result<(Uuid, Vec<u8>), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM mfa_factors WHERE person_id = $1 AND confirmed_at IS NULL",
        [user.person_id.into()],
    ))
    .await?;
    if confirmed_count(tx, user.person_id).await? >= MAX_FACTORS {
        return Err(AppError::Conflict(format!(
            "at most {MAX_FACTORS} authenticator apps per account: remove one first"
        )));
    }
    let (id, secret) = (Uuid::now_v7(), totp::generate_secret());
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO mfa_factors (id, person_id, kind, secret_sealed) \
         VALUES ($1, $2, 'totp', $3)",
        [
            id.into(),
            user.person_id.into(),
            sealer.seal(id, user.person_id, &secret).into(),
        ],
    ))
    .await?;
    Ok((id, secret))
}

pub async fn list(tx: &TenantTx, person_id: Uuid) -> Result<Vec<Factor>, AppError> {
    Ok(Factor::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, kind, created_at, confirmed_at, last_used_at FROM mfa_factors \
         WHERE person_id = $1 AND (confirmed_at IS NOT NULL \
                                 OR created_at > now() - make_interval(secs => $2)) \
         ORDER BY created_at DESC",
        [person_id.into(), PENDING_SECS.into()],
    ))
    .all(tx)
    .await?)
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(tx: &TenantTx, sql: &str, person_id: Uuid) -> Result<i64, AppError> {
    let row = Count::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [person_id.into()],
    ))
    .one(tx)
    .await?;
    Ok(row.map_or(0, |r| r.n))
}

pub async fn confirmed_count(tx: &TenantTx, person_id: Uuid) -> Result<i64, AppError> {
    let sql = "SELECT count(*) AS n FROM mfa_factors \
               WHERE person_id = $1 AND confirmed_at IS NOT NULL";
    count(tx, sql, person_id).await
}

pub async fn remaining_codes(tx: &TenantTx, person_id: Uuid) -> Result<i64, AppError> {
    let sql =
        "SELECT count(*) AS n FROM mfa_recovery_codes WHERE person_id = $1 AND used_at IS NULL";
    count(tx, sql, person_id).await
}

#[derive(FromQueryResult)]
struct Sealed {
    id: Uuid,
    secret_sealed: Vec<u8>,
}

/// Whether `answer` proves the second factor of `user`, taking what it used: the time step of
/// the factor whose code it is (a step is accepted once), or the recovery code (once ever).
/// `pending` checks that pending factor's code only (confirming an enrolment).
pub async fn prove(
    tx: &TenantTx,
    sealer: &SecretBox,
    person_id: Uuid,
    answer: &Answer,
    pending: Option<Uuid>,
) -> Result<Option<Proof>, AppError> {
    match answer {
        Answer::Code(code) => Ok(take_step(tx, sealer, person_id, code, pending)
            .await?
            .then_some(Proof::Totp)),
        Answer::RecoveryCode(_) if pending.is_some() => Ok(None),
        Answer::RecoveryCode(code) => Ok(take_recovery_code(tx, sealer, person_id, code)
            .await?
            .then_some(Proof::RecoveryCode)),
    }
}

async fn take_step(
    tx: &TenantTx,
    sealer: &SecretBox,
    person_id: Uuid,
    code: &str,
    pending: Option<Uuid>,
) -> Result<bool, AppError> {
    let factors = Sealed::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, secret_sealed FROM mfa_factors WHERE person_id = $1 AND CASE \
             WHEN $2::uuid IS NULL THEN confirmed_at IS NOT NULL \
             ELSE id = $2 AND confirmed_at IS NULL \
                  AND created_at > now() - make_interval(secs => $3) END",
        [person_id.into(), pending.into(), PENDING_SECS.into()],
    ))
    .all(tx)
    .await?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    for factor in factors {
        let Some(secret) = sealer.open(factor.id, person_id, &factor.secret_sealed) else {
            tracing::error!(factor_id = %factor.id, "a TOTP secret does not open with this key");
            continue;
        };
        let Some(step) = totp::matching_step(&secret, code, now) else {
            continue;
        };
        // a step already accepted is a replay, refused like a wrong code
        let taken = tx
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE mfa_factors SET last_used_step = $2, last_used_at = now(), \
                     confirmed_at = coalesce(confirmed_at, now()) \
                 WHERE id = $1 AND last_used_step < $2",
                [
                    factor.id.into(),
                    i64::try_from(step).unwrap_or(i64::MAX).into(),
                ],
            ))
            .await?;
        return Ok(taken.rows_affected() == 1);
    }
    Ok(false)
}

async fn take_recovery_code(
    tx: &TenantTx,
    sealer: &SecretBox,
    person_id: Uuid,
    code: &str,
) -> Result<bool, AppError> {
    let Some(normalised) = recovery::normalise(code) else {
        return Ok(false);
    };
    let taken = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE mfa_recovery_codes SET used_at = now() \
             WHERE person_id = $1 AND code_hash = $2 AND used_at IS NULL",
            [
                person_id.into(),
                sealer.code_digest(person_id, &normalised).into(),
            ],
        ))
        .await?;
    Ok(taken.rows_affected() >= 1)
}

/// Ten new recovery codes for `user`, replacing every earlier one; shown once.
pub async fn replace_recovery_codes(
    tx: &TenantTx,
    sealer: &SecretBox,
    user: &user::Model,
) -> Result<Vec<String>, AppError> {
    delete_recovery_codes(tx, user.person_id).await?;
    let codes = recovery::generate();
    for code in &codes {
        let normalised = recovery::normalise(code).expect("generated codes are well formed");
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO mfa_recovery_codes (id, person_id, code_hash) \
             VALUES ($1, $2, $3)",
            [
                Uuid::now_v7().into(),
                user.person_id.into(),
                sealer.code_digest(user.person_id, &normalised).into(),
            ],
        ))
        .await?;
    }
    Ok(codes)
}

async fn delete_recovery_codes(tx: &TenantTx, person_id: Uuid) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM mfa_recovery_codes WHERE person_id = $1",
        [person_id.into()],
    ))
    .await?;
    Ok(())
}

/// Removes one confirmed factor of the user; with the last one go the recovery codes. `None`
/// if the user has no such factor; otherwise how many confirmed factors remain.
pub async fn remove(
    tx: &TenantTx,
    person_id: Uuid,
    factor_id: Uuid,
) -> Result<Option<i64>, AppError> {
    let removed = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM mfa_factors WHERE id = $1 AND person_id = $2 AND confirmed_at IS NOT NULL",
            [factor_id.into(), person_id.into()],
        ))
        .await?;
    if removed.rows_affected() == 0 {
        return Ok(None);
    }
    let left = confirmed_count(tx, person_id).await?;
    if left == 0 {
        delete_recovery_codes(tx, person_id).await?;
    }
    Ok(Some(left))
}

/// Removes every factor (pending too) and recovery code of the user; how many factors were
/// confirmed.
pub async fn remove_all(tx: &TenantTx, person_id: Uuid) -> Result<i64, AppError> {
    let confirmed = confirmed_count(tx, person_id).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM mfa_factors WHERE person_id = $1",
        [person_id.into()],
    ))
    .await?;
    delete_recovery_codes(tx, person_id).await?;
    Ok(confirmed)
}
