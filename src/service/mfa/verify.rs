//! Proving the second factor: the second step of a sign-in (`mfa_token` + code → a new
//! session whose tokens say `amr: ["pwd", "otp"]`), and step-up (a code → the caller's session
//! proved it just now, and a fresh access token says so). A wrong code is counted against the
//! account's lockout like a wrong password; a code is accepted once, a recovery code once ever.

use uuid::Uuid;

use super::{Answer, Proof, count, event, notify, store};
use crate::{
    auth::{account_token::AccountToken, jwt::Authn, mfa::Standing, principal::scope_of},
    entity::user,
    error::AppError,
    mail::Kind,
    scope::{Caller, RequestMeta},
    service::{
        account_tokens::{self, Purpose},
        audit,
        sign_in::{self, CodeLock, Issued},
        users,
    },
    state::AppState,
    tenancy::TenantTx,
};

/// The second step of a sign-in. Every refusal of the token is the same 401.
pub async fn sign_in(
    state: &AppState,
    mfa_token: &str,
    answer: Answer,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let (token, owner) = account_tokens::presented(state, mfa_token)
        .await
        .map_err(|_| AppError::Unauthenticated)?;
    let user = live_challenge(state, &token, &owner).await?;
    let tx = state
        .db
        .begin(scope_of(user.dealership_id, user.group_id))
        .await?;
    let (tx, proof) = check(state, tx, &user, &answer, meta, None).await?;
    // asked again with the user's row locked: a password reset, change or deactivation either
    // committed before (and ends the token) or waits, and then ends the session opened here
    lock_user_row(&tx, user.id).await?;
    let user = users::find_signable(&tx, user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !account_tokens::is_live(&tx, &token, Purpose::MfaSignIn, &user).await? {
        return Err(AppError::Unauthenticated);
    }
    // one sign-in per token, however many codes race for it
    if !account_tokens::consume(&tx, &token).await? {
        return Err(AppError::Unauthenticated);
    }
    let refresh_token = sign_in::open_session_proving(state, &tx, &user, meta, true).await?;
    let user = users::touch_last_login(&tx, user).await?;
    let mut succeeded = event("login.succeeded", &user, user.id, Some(proof_record(proof)));
    succeeded.target_type = "session";
    succeeded.target_id = Some(refresh_token.session_id);
    audit::record(&tx, meta, succeeded).await?;
    let issued = sign_in::issue_in(state, &tx, user, refresh_token).await?;
    tx.commit().await?;
    state
        .auth
        .sessions
        .apply(crate::auth::sessions::Revoked::Profile(issued.user.id))
        .await;
    count("verified");
    super::count_proof(proof);
    Ok(issued)
}

async fn lock_user_row(tx: &TenantTx, user_id: Uuid) -> Result<(), AppError> {
    use sea_orm::ConnectionTrait;
    tx.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "SELECT 1 FROM memberships WHERE id = $1 FOR NO KEY UPDATE",
        [user_id.into()],
    ))
    .await?;
    Ok(())
}

/// The user of a live `mfa_token` who may still sign in; 401 otherwise.
async fn live_challenge(
    state: &AppState,
    token: &AccountToken,
    owner: &account_tokens::Owner,
) -> Result<user::Model, AppError> {
    let tx = state
        .db
        .begin_reading(scope_of(owner.dealership_id, owner.group_id))
        .await?;
    let user = users::find_signable(&tx, owner.user_id).await?;
    let live = match &user {
        Some(user) => account_tokens::is_live(&tx, token, Purpose::MfaSignIn, user).await?,
        None => false,
    };
    tx.commit().await?;
    user.filter(|_| live).ok_or(AppError::Unauthenticated)
}

/// A fresh access token for the caller's session after a code: what a sensitive change asks
/// for ([`super::require_step_up`]). The refresh token is unchanged; refreshing keeps `otp`.
pub async fn step_up(state: &AppState, me: &Caller, answer: Answer) -> Result<String, AppError> {
    let user = caller_user(state, me).await?;
    let tx = state.db.begin(me.scope()).await?;
    let (tx, proof) = check(state, tx, &user, &answer, &me.meta, None)
        .await
        .map_err(on_field(&answer))?;
    audit::record(&tx, &me.meta, event("mfa.step_up", &user, user.id, None)).await?;
    let access_token = proven_now(state, &tx, &user, me.session_id).await?;
    tx.commit().await?;
    count("step_up");
    super::count_proof(proof);
    Ok(access_token)
}

/// The caller, as long as they may still sign in (401 otherwise).
pub(super) async fn caller_user(state: &AppState, me: &Caller) -> Result<user::Model, AppError> {
    let tx = state.db.begin_reading(me.scope()).await?;
    let user = users::find_signable(&tx, me.user_id).await?;
    tx.commit().await?;
    user.ok_or(AppError::Unauthenticated)
}

/// Checks `answer` for `user` in `tx`, their own tenant transaction: one check of theirs at a
/// time, under the lockout. A right answer takes what it used (the time step, the recovery
/// code: `pending` checks only that pending factor's codes) and `tx` goes on; a wrong one is
/// counted and committed, then answered `BadCredentials` after its delay; a locked account 429.
pub(super) async fn check(
    state: &AppState,
    tx: TenantTx,
    user: &user::Model,
    answer: &Answer,
    meta: &RequestMeta,
    pending: Option<Uuid>,
) -> Result<(TenantTx, Proof), AppError> {
    match sign_in::code_lock(&tx, user, meta).await? {
        CodeLock::Held => {}
        CodeLock::Busy => {
            return Err(AppError::RateLimited {
                retry_after_secs: 1,
            });
        }
        CodeLock::Locked(retry_after_secs) => {
            drop(tx);
            return Err(sign_in::refuse_locked_code(state, user, meta, retry_after_secs).await);
        }
    }
    match store::prove(&tx, &state.auth.mfa, user.person_id, answer, pending).await? {
        Some(proof) => {
            sign_in::clear_code_counts(&tx, user).await?;
            proven(state, &tx, user, proof, meta).await?;
            Ok((tx, proof))
        }
        None => {
            let failures = sign_in::count_wrong_code(state, &tx, user, meta).await?;
            tx.commit().await?;
            Err(sign_in::wrong_code_answer(state, failures).await)
        }
    }
}

/// For a signed-in caller's [`check`]: a wrong answer is 422 on the field it came in.
pub(super) fn on_field(answer: &Answer) -> impl Fn(AppError) -> AppError + use<> {
    let field = match answer {
        Answer::Code(_) => "code",
        Answer::RecoveryCode(_) => "recovery_code",
    };
    move |err| match err {
        AppError::BadCredentials(_) => AppError::field(field, "is not correct"),
        other => other,
    }
}

/// The caller's session proved a second factor just now: marked so (refreshes keep it), and a
/// fresh access token that says so.
pub(super) async fn proven_now(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    session_id: Uuid,
) -> Result<String, AppError> {
    super::mark_session(tx, session_id).await?;
    let authn = Authn {
        auth_time: chrono::Utc::now().timestamp(),
        otp: true,
        standing: Standing::Enrolled,
    };
    sign_in::access_token(state, user, session_id, authn)
}

/// What a right answer leaves behind: a used recovery code is audited, counted and mailed.
async fn proven(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    proof: Proof,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if proof == Proof::RecoveryCode {
        let left = store::remaining_codes(tx, user.person_id).await?;
        let used = event(
            "mfa.recovery_code_used",
            user,
            user.id,
            Some(serde_json::json!({ "remaining": left })),
        );
        audit::record(tx, meta, used).await?;
        notify(state, tx, Kind::MfaRecoveryCodeUsed, user).await?;
    }
    Ok(())
}

fn proof_record(proof: Proof) -> serde_json::Value {
    let method = match proof {
        Proof::Totp => "totp",
        Proof::RecoveryCode => "recovery_code",
    };
    serde_json::json!({ "amr": ["pwd", "otp"], "mfa": method })
}
