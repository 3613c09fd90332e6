//! The throttle around second-factor codes: the same lockout as passwords, and a lock of its own
//! that a password reset does not lift. A user's code checks run one at a time (a
//! transaction-scoped advisory lock; a check that finds another one running is answered 429 at
//! once rather than queued on a pooled connection), each asks the lockout under the lock, and a
//! wrong code is counted in the same transaction before the lock is let go, so a burst of
//! guesses sent at once counts no less than a sequence of them.

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::reauth::Attempt;
use crate::{
    auth::throttle::{self, Counter, Who},
    domain::{Email, SignInName},
    entity::user,
    error::AppError,
    scope::RequestMeta,
    service::users,
    state::AppState,
    tenancy::TenantTx,
};

/// The name code failures are counted under: the account's email (the account's other name,
/// its phone, is asked for a lock too).
fn counted_name(user: &user::Model) -> Result<SignInName, AppError> {
    Ok(SignInName::Email(
        Email::parse(&user.email).map_err(AppError::internal)?,
    ))
}

/// Takes `user_id`'s lock in `tx`, waiting for it: what a sign-in deciding whether to ask for
/// a second factor, and an enrolment, take, so neither runs beside a change of the factors.
pub async fn user_lock(tx: &TenantTx, user_id: Uuid) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [lock_key(user_id).into()],
    ))
    .await?;
    Ok(())
}

fn lock_key(user_id: Uuid) -> String {
    format!("mfa-code:{user_id}")
}

#[derive(FromQueryResult)]
struct Taken {
    taken: bool,
}

/// What a code check may do now.
pub enum CodeLock {
    /// The check may go ahead: it holds the user's lock until `tx` ends.
    Held,
    /// Another check of this user is running: 429 (not counted, not audited).
    Busy,
    /// The account (by any of its names, or by its code failures) or the client's address is
    /// locked for this many seconds.
    Locked(u64),
}

/// Takes the user's lock in `tx` if no other code check holds it, then asks the lockout.
pub async fn code_lock(
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
) -> Result<CodeLock, AppError> {
    let taken = Taken::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS taken",
        [lock_key(user.person_id).into()],
    ))
    .one(tx)
    .await?
    .is_some_and(|t| t.taken);
    if !taken {
        return Ok(CodeLock::Busy);
    }
    let ip = meta.ip.as_deref();
    let mut locked =
        throttle::locked_counting(tx, Counter::MfaCode, Who::Name(&counted_name(user)?), None)
            .await?;
    for name in users::sign_in_names(user) {
        locked = locked.max(throttle::locked_for(tx, &name, ip).await?);
    }
    Ok(locked.map_or(CodeLock::Held, CodeLock::Locked))
}

/// The account's login counts and its code count start afresh: a right code, or support's
/// reset of the factors.
pub async fn clear_code_counts(tx: &TenantTx, user: &user::Model) -> Result<(), AppError> {
    throttle::reset(tx, &users::sign_in_names(user)).await?;
    throttle::reset_counting(tx, Counter::MfaCode, &[counted_name(user)?]).await
}

/// The 429 of a code tried while locked, audited (call it once the code's transaction ended).
pub async fn refuse_locked_code(
    state: &AppState,
    user: &user::Model,
    meta: &RequestMeta,
    retry_after_secs: u64,
) -> AppError {
    let name = match counted_name(user) {
        Ok(name) => name,
        Err(err) => return err,
    };
    attempt(state, &name, user, meta)
        .refuse_locked(retry_after_secs)
        .await
}

/// Counts and audits a wrong (or replayed) code in `tx`, the transaction holding the user's
/// code lock: commit it, then answer [`wrong_code_answer`] with what this returns.
pub async fn count_wrong_code(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
) -> Result<u32, AppError> {
    let name = counted_name(user)?;
    let failures = attempt(state, &name, user, meta)
        .record_failure_in(tx, "mfa.verification_failed", "wrong_code")
        .await?;
    let lockout = &state.settings.auth.lockout;
    let code_failures = throttle::record(tx, Counter::MfaCode, lockout, &name, None).await?;
    crate::service::mfa::count("verification_failed");
    Ok(failures.max(code_failures))
}

/// A code check of `user`'s, counted and audited under `name` like a password check.
fn attempt<'a>(
    state: &'a AppState,
    name: &'a SignInName,
    user: &user::Model,
    meta: &'a RequestMeta,
) -> Attempt<'a> {
    Attempt {
        state,
        name,
        counted_as: name,
        dealership_id: user.dealership_id,
        group_id: user.group_id,
        user_id: Some(user.id),
        meta,
    }
}

/// The progressive delay of the `failures`-th failure, then the refusal every wrong code gets.
pub async fn wrong_code_answer(state: &AppState, failures: u32) -> AppError {
    tokio::time::sleep(throttle::delay(&state.settings.auth.lockout, failures)).await;
    AppError::BadCredentials("code")
}
