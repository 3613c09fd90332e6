//! Whether an email or a phone number belongs to an account is told to a signed-in caller only
//! a few times a window. A 409 naming a taken address or number is counted under the caller
//! (and their IP), counted and checked in one statement; past the lockout's account limit the
//! answer is 429 instead, and further attempts are refused before any work. So staff cannot
//! harvest which addresses and numbers other dealerships hold through `PATCH /auth/me`,
//! `POST /users` or `PATCH /users/{id}` (signups count every attempt instead).

use crate::{
    auth::throttle::{self, Counter},
    error::AppError,
    scope::Caller,
    state::AppState,
    tenancy::Scope,
};

/// 429 while the caller may not be told again whether a name is taken.
pub async fn refuse_if_locked(state: &AppState, caller: &Caller) -> Result<(), AppError> {
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let ip = caller.meta.ip.as_deref();
    let locked = throttle::locked_for_user(&tx, Counter::TakenName, caller.user_id, ip).await?;
    tx.commit().await?;
    match locked {
        Some(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// The answer for `caller`: a conflict is counted, and is 429 once past the limit; any other
/// answer passes unchanged. Call it once the transaction that failed has ended.
pub async fn counted(state: &AppState, caller: &Caller, answer: AppError) -> AppError {
    if !matches!(answer, AppError::Conflict(_)) {
        return answer;
    }
    let counted = async {
        let tx = state.db.begin(Scope::Anonymous).await?;
        let lockout = &state.settings.auth.lockout;
        let ip = caller.meta.ip.as_deref();
        let locked =
            throttle::take_for_user(&tx, Counter::TakenName, lockout, caller.user_id, ip).await?;
        tx.commit().await?;
        Ok::<_, AppError>(locked)
    };
    match counted.await {
        Ok(None) => answer,
        Ok(Some(retry_after_secs)) => AppError::RateLimited { retry_after_secs },
        Err(err) => err,
    }
}
