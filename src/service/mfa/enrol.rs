//! The caller's own factors: enrol a TOTP app (current password → a pending secret; its first
//! code confirms it and returns ten recovery codes, shown once), list them, remove one and make
//! new recovery codes (each with the password and a code). Each slow check (the password, a
//! wrong code's delay) runs before or after the transaction, never inside it.

use uuid::Uuid;

use super::{
    Answer, count, event, notify,
    store::{self, Factor},
    verify::{caller_user, check, on_field, proven_now},
};
use crate::{
    auth::{mfa::totp, sessions::Revoked},
    domain::Email,
    entity::user,
    error::AppError,
    mail::Kind,
    scope::Caller,
    service::{audit, sign_in},
    state::AppState,
};

/// A pending factor, as the authenticator app takes it.
pub struct Enrolment {
    pub factor_id: Uuid,
    pub otpauth_uri: String,
    /// The secret in base32, for typing in instead of scanning.
    pub secret: String,
    pub qr_svg: String,
}

/// A confirmed factor, its recovery codes (shown once) and an access token saying the caller
/// just proved it.
pub struct Confirmed {
    pub factor: Factor,
    pub recovery_codes: Vec<String>,
    pub access_token: String,
    pub expires_in: u64,
}

/// What the caller has: factors (no secrets) and how many recovery codes are left.
pub struct Status {
    pub factors: Vec<Factor>,
    pub recovery_codes_remaining: i64,
}

pub async fn status(state: &AppState, me: &Caller) -> Result<Status, AppError> {
    let tx = state.db.begin_reading(me.scope()).await?;
    let factors = store::list(&tx, me.person_id).await?;
    let recovery_codes_remaining = store::remaining_codes(&tx, me.person_id).await?;
    tx.commit().await?;
    Ok(Status {
        factors,
        recovery_codes_remaining,
    })
}

/// The caller's user after their current password (throttled like a login; 422 if wrong).
async fn reauthenticated(
    state: &AppState,
    me: &Caller,
    current_password: String,
) -> Result<user::Model, AppError> {
    let user = caller_user(state, me).await?;
    let email = Email::parse(&user.email).map_err(AppError::internal)?;
    let hash = user.password_hash.clone();
    sign_in::verify_current_password(state, me, &email, current_password, hash).await?;
    Ok(user)
}

pub async fn start(
    state: &AppState,
    me: &Caller,
    current_password: String,
) -> Result<Enrolment, AppError> {
    // another app for an enrolled account needs the one it has, recently
    super::require_step_up(state, me).await?;
    let user = reauthenticated(state, me, current_password).await?;
    let tx = state.db.begin(me.scope()).await?;
    sign_in::user_lock(&tx, user.person_id).await?;
    let (factor_id, secret) = store::add_pending(&tx, &state.auth.mfa, &user).await?;
    tx.commit().await?;
    let issuer = &state.settings.auth.mfa.issuer;
    let (otpauth_uri, secret) = totp::provisioning(&secret, issuer, &user.email)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no otpauth URI")))?;
    let qr_svg = totp::qr_svg(&otpauth_uri)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no QR code")))?;
    Ok(Enrolment {
        factor_id,
        otpauth_uri,
        secret,
        qr_svg,
    })
}

/// The pending factor's first code activates it (404 if there is no such pending factor, 422
/// if the code is wrong).
pub async fn confirm(
    state: &AppState,
    me: &Caller,
    factor_id: Uuid,
    code: String,
) -> Result<Confirmed, AppError> {
    super::require_step_up(state, me).await?;
    let user = caller_user(state, me).await?;
    let tx = state.db.begin(me.scope()).await?;
    let pending = store::list(&tx, user.person_id)
        .await?
        .into_iter()
        .find(|f| f.id == factor_id && f.confirmed_at.is_none())
        .ok_or(AppError::NotFound("pending factor"))?;
    let answer = Answer::Code(code);
    let (tx, _) = check(state, tx, &user, &answer, &me.meta, Some(pending.id))
        .await
        .map_err(on_field(&answer))?;
    // sessions opened with the password alone end: they never proved an app
    super::end_password_only_sessions(&tx, user.id, me.session_id).await?;
    let recovery_codes = store::replace_recovery_codes(&tx, &state.auth.mfa, &user).await?;
    let changes = serde_json::json!({ "factor_id": factor_id, "kind": "totp" });
    let enrolled = event("mfa.enrolled", &user, user.id, Some(changes));
    audit::record_for_person(&tx, &me.meta, enrolled, user.person_id).await?;
    notify(state, &tx, Kind::MfaFactorAdded, &user).await?;
    let factor = store::list(&tx, user.person_id)
        .await?
        .into_iter()
        .find(|f| f.id == factor_id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("confirmed factor not found")))?;
    let access_token = proven_now(state, &tx, &user, me.session_id).await?;
    tx.commit().await?;
    state.auth.sessions.apply(Revoked::User(user.id)).await;
    count("enrolled");
    Ok(Confirmed {
        factor,
        recovery_codes,
        access_token,
        expires_in: state.settings.auth.access_token_ttl_secs,
    })
}

/// Removes one of the caller's factors, after the password and a code (from any factor, or a
/// recovery code); with the last factor go the recovery codes.
pub async fn remove(
    state: &AppState,
    me: &Caller,
    factor_id: Uuid,
    (current_password, answer): (String, Answer),
) -> Result<(), AppError> {
    let user = reauthenticated(state, me, current_password).await?;
    let tx = state.db.begin(me.scope()).await?;
    let (tx, proof) = check(state, tx, &user, &answer, &me.meta, None)
        .await
        .map_err(on_field(&answer))?;
    let remaining = store::remove(&tx, user.person_id, factor_id)
        .await?
        .ok_or(AppError::NotFound("factor"))?;
    let changes = serde_json::json!({ "factor_id": factor_id, "remaining": remaining });
    let removed = event("mfa.factor_removed", &user, user.id, Some(changes));
    audit::record_for_person(&tx, &me.meta, removed, user.person_id).await?;
    notify(state, &tx, Kind::MfaFactorRemoved, &user).await?;
    tx.commit().await?;
    count("removed");
    super::count_proof(proof);
    Ok(())
}

/// Ten new recovery codes after the password and a code; every earlier code stops working.
pub async fn regenerate_codes(
    state: &AppState,
    me: &Caller,
    (current_password, answer): (String, Answer),
) -> Result<Vec<String>, AppError> {
    let user = reauthenticated(state, me, current_password).await?;
    let tx = state.db.begin(me.scope()).await?;
    if store::confirmed_count(&tx, user.person_id).await? == 0 {
        return Err(AppError::Conflict(
            "no authenticator app is enrolled: recovery codes come with the first one".into(),
        ));
    }
    let (tx, proof) = check(state, tx, &user, &answer, &me.meta, None)
        .await
        .map_err(on_field(&answer))?;
    let codes = store::replace_recovery_codes(&tx, &state.auth.mfa, &user).await?;
    let renewed = event("mfa.recovery_codes_regenerated", &user, user.id, None);
    audit::record_for_person(&tx, &me.meta, renewed, user.person_id).await?;
    tx.commit().await?;
    super::count_proof(proof);
    Ok(codes)
}
