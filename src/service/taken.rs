//! Whether an email or a phone number belongs to an account is told to a signed-in caller only
//! a few times a window. A change that names an email or a phone asks [`judge`] in its own
//! transaction before it writes: the caller's checks run one at a time (a transaction-scoped
//! advisory lock), a locked caller is refused, and a name another account holds is counted in
//! that transaction before its `409` can be seen — past the lockout's account limit the answer
//! is `429` instead. So a burst of probes gets exactly as many answers as a sequence would, and
//! staff cannot harvest which addresses and numbers other dealerships hold through
//! `PATCH /auth/me`, `POST /users` or `PATCH /users/{id}` (signups count every attempt instead).
//! Counted per caller only: an IP key would let one user lock out their whole office.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{
    auth::throttle::{self, Counter, Who},
    domain::SignInName,
    error::AppError,
    scope::Caller,
    service::users,
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// Counted per caller only (no IP key).
const COUNTER: Counter = Counter::TakenName;

/// What [`judge`] found.
pub enum Verdict {
    /// No other account signs in with the names: the change may go on.
    Free,
    /// Commit the transaction (it holds the count), then answer this (`409` or `429`).
    Refused(AppError),
}

/// 429 while the caller may not be told again whether a name is taken: asked before slow work
/// (a hash), so a locked caller costs nothing.
pub async fn refuse_if_locked(state: &AppState, caller: &Caller) -> Result<(), AppError> {
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let locked = throttle::locked_counting(&tx, COUNTER, Who::User(caller.user_id), None).await?;
    tx.commit().await?;
    match locked {
        Some(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// In `tx`, the change's own transaction, before it writes `names`: whether another account
/// than `target` (the person being changed; none for a new one) signs in with any of them.
pub async fn judge(
    tx: &TenantTx,
    state: &AppState,
    caller: &Caller,
    names: &[SignInName],
    target: Option<Uuid>,
) -> Result<Verdict, AppError> {
    if names.is_empty() {
        return Ok(Verdict::Free);
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [format!("taken:user:{}", caller.user_id).into()],
    ))
    .await?;
    let me = Who::User(caller.user_id);
    if let Some(retry_after_secs) = throttle::locked_counting(tx, COUNTER, me, None).await? {
        return Ok(Verdict::Refused(AppError::RateLimited { retry_after_secs }));
    }
    for name in names {
        let holder = users::login_candidate(tx, name).await?;
        if holder.is_none_or(|h| Some(h.person_id) == target) {
            continue;
        }
        let lockout = &state.settings.auth.lockout;
        let answer = match throttle::take(tx, COUNTER, lockout, me, None).await? {
            Some(retry_after_secs) => AppError::RateLimited { retry_after_secs },
            None => taken(name),
        };
        return Ok(Verdict::Refused(answer));
    }
    Ok(Verdict::Free)
}

/// The `409` of a taken name, as the unique keys name it.
pub fn taken(name: &SignInName) -> AppError {
    AppError::Conflict(match name {
        SignInName::Email(_) => "a user with this email already exists".into(),
        SignInName::Phone(_) => "a user with this phone number already exists".into(),
    })
}

/// A write that still met a unique key (the name was taken between [`judge`] and the write):
/// counted like a judged one, after the failed transaction ended. Any other answer passes.
pub async fn counted(state: &AppState, caller: &Caller, answer: AppError) -> AppError {
    if !matches!(answer, AppError::Conflict(_)) {
        return answer;
    }
    let lockout = &state.settings.auth.lockout;
    let me = Who::User(caller.user_id);
    match throttle::take_now(&state.db, COUNTER, lockout, me, None).await {
        Ok(()) => answer,
        Err(refused) => refused,
    }
}
