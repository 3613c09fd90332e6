//! Password → a new session, signing in by email or by phone: throttled per sign-in name and
//! per client IP, the same answer and the same time for an unknown email or phone, a wrong
//! password and an inactive account.

use super::{SignedIn, count_login, issue, login_event, reauth::Attempt};
use crate::{
    auth::{
        account_token::AccountToken, jwt::Authn, mfa::Standing, principal::scope_of,
        sessions::Revoked, throttle,
    },
    domain::{Email, SignInName},
    entity::{membership::Place, user},
    error::AppError,
    scope::RequestMeta,
    service::{account_tokens, audit, mfa, users},
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// Signs `name` in to the membership at `place` if one is named, else the last used.
pub async fn login(
    state: &AppState,
    name: SignInName,
    password: String,
    place: Option<Place>,
    meta: &RequestMeta,
) -> Result<SignedIn, AppError> {
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let candidate = users::login_candidate(&tx, &name).await?;
    tx.commit().await?;
    let entered = candidate.as_ref().and_then(|c| c.choose(place));
    // one lockout per person: a phone's failures count under the person's email
    let email = candidate.as_ref().and_then(|c| Email::parse(&c.email).ok());
    let counted_as = email.map_or_else(|| name.clone(), SignInName::Email);
    let attempt = Attempt {
        state,
        name: &name,
        counted_as: &counted_as,
        dealership_id: entered.and_then(|m| m.dealership_id),
        group_id: entered.and_then(|m| m.group_id),
        user_id: candidate.as_ref().map(|c| c.person_id),
        meta,
    };
    // unknown names are checked against a dummy hash: same answer, same time
    let hash = candidate.as_ref().map(|c| c.password_hash.clone());
    attempt
        .check_password(password, hash, "bad_credentials")
        .await?;
    if candidate.is_none() {
        return Err(AppError::internal(anyhow::anyhow!(
            "a password matched without an account"
        )));
    }
    // no membership it may enter (none active, or not the one named): the uniform refusal
    let Some(entered) = entered else {
        return Err(attempt.failed("inactive").await);
    };
    let tx = state
        .db
        .begin(scope_of(entered.dealership_id, entered.group_id))
        .await?;
    let Some(user) = users::find_signable(&tx, entered.user_id).await? else {
        drop(tx);
        return Err(attempt.failed("inactive").await);
    };
    // said only to the one who knows the password
    if state.settings.auth.require_verified_email && user.email_verified_at.is_none() {
        drop(tx);
        count_login("unverified", &name);
        return Err(AppError::EmailNotVerified);
    }
    // not beside an enrolment: it ends the password-only sessions it finds, so it must find ours
    super::user_lock(&tx, user.person_id).await?;
    let standing = mfa::standing_of(&tx, &state.settings.auth.mfa, &user).await?;
    if standing == Standing::Enrolled {
        // the throttle stays as it is: only the second factor completes the sign-in
        let signed_in = challenge(state, &tx, &user, meta, &name).await?;
        tx.commit().await?;
        count_login("mfa_required", &name);
        return Ok(signed_in);
    }
    let refresh_token = super::open_session(state, &tx, &user, meta).await?;
    // the answer shows this sign-in, not the one before
    let user = users::touch_last_login(&tx, user).await?;
    // the name used, and the account's other one: whoever knows the password may retry
    let mut names = users::sign_in_names(&user);
    if !names.contains(&name) {
        names.push(name.clone());
    }
    throttle::reset(&tx, &names).await?;
    audit::record(
        &tx,
        meta,
        login_event(
            "login.succeeded",
            user.dealership_id,
            Some(user.id),
            &name,
            Some(refresh_token.session_id),
        ),
    )
    .await?;
    tx.commit().await?;
    // last_login changed: this replica shows it at once (the trigger tells the others)
    state.auth.sessions.apply(Revoked::Profile(user.id)).await;
    count_login("success", &name);
    let authn = Authn {
        auth_time: chrono::Utc::now().timestamp(),
        otp: false,
        standing,
    };
    // the list the lookup found, with this sign-in's time on the membership entered
    let memberships = candidate
        .map(|c| c.memberships)
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            if m.user_id == user.id {
                user.summary()
            } else {
                m
            }
        })
        .collect();
    Ok(SignedIn::Tokens(Box::new(issue(
        state,
        user,
        memberships,
        refresh_token,
        authn,
    )?)))
}

/// The `mfa_token` for the second step: single-use, short-lived, bound to the password (a
/// changed password ends it) and superseding any earlier one of the user.
async fn challenge(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
    name: &SignInName,
) -> Result<SignedIn, AppError> {
    let token = AccountToken::generate();
    let ttl = state.settings.auth.mfa.challenge_ttl_secs;
    account_tokens::issue(tx, user, account_tokens::Purpose::MfaSignIn, &token, ttl).await?;
    let event = login_event(
        "login.mfa_required",
        user.dealership_id,
        Some(user.id),
        name,
        None,
    );
    audit::record(tx, meta, event).await?;
    Ok(SignedIn::MfaRequired {
        mfa_token: token.expose(),
        expires_in: ttl,
    })
}
