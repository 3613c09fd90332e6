//! Signing up without an invitation, where `auth.open_signup` allows it: only into the one
//! configured dealership, only as `agent`, the email unverified (a verification link is
//! mailed). Every attempt counts against the client IP and the address, like password-reset
//! requests. It necessarily tells whether an address is free (409); the throttle bounds that.

use serde_json::json;

use crate::{
    auth::{
        password,
        principal::scope_of,
        throttle::{self, Counter, Who},
    },
    domain::{Email, Role, SignInName},
    entity::user,
    error::AppError,
    scope::RequestMeta,
    service::{
        audit, email_verification,
        invitations::signup::{Signup, chosen, names_free, takes_members},
        roles::assign::Placement,
        sign_in::{self, Issued},
        users::manage::{NewUser, insert},
    },
    state::AppState,
    tenancy::TenantTx,
};

pub async fn signup(
    state: &AppState,
    email: Email,
    signup: Signup,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let settings = &state.settings.auth.open_signup;
    let Some(dealership_id) = settings.dealership_id.filter(|_| settings.enabled) else {
        return Err(AppError::SignupClosed("signup needs an invitation"));
    };
    let name = SignInName::from(email.clone());
    throttled(state, &name, meta).await?;
    let password = chosen(&signup.password, &email)?;
    let scope = scope_of(Some(dealership_id), None);

    // every cheap check before the slow hash, in a transaction that ends before it
    let tx = state.db.begin_reading(scope).await?;
    let open = takes_members(&tx, dealership_id).await?;
    let free = names_free(&tx, &email, signup.phone.as_ref()).await;
    tx.commit().await?;
    if !open {
        return Err(closed());
    }
    free?;
    let hash = password::hash(password.expose().to_owned()).await?;

    let tx = state.db.begin(scope).await?;
    // suspended since the first look
    if !takes_members(&tx, dealership_id).await? {
        return Err(closed());
    }
    let new = NewUser {
        email,
        password,
        first_name: signup.first_name,
        last_name: signup.last_name,
        phone: signup.phone,
    };
    let placed = Placement::builtin(Some(dealership_id), Role::Agent);
    // 409 naming the email or the phone if either is taken by now
    let user = insert(&tx, new, placed, hash).await?;
    email_verification::send_in(state, &tx, &user).await?;
    record(&tx, meta, &user).await?;
    if state.settings.auth.require_verified_email {
        // signed up, but signed in only once the address is confirmed, as login would say
        tx.commit().await?;
        return Err(AppError::EmailNotVerified);
    }
    let refresh_token = sign_in::open_session(state, &tx, &user, meta).await?;
    let issued = sign_in::issue_in(state, &tx, user, refresh_token).await?;
    tx.commit().await?;
    Ok(issued)
}

/// 429 while the client IP or the address is locked; otherwise counts this attempt, whatever
/// its outcome (counted and checked in one statement).
async fn throttled(
    state: &AppState,
    name: &SignInName,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let (lockout, ip) = (&state.settings.auth.lockout, meta.ip.as_deref());
    throttle::take_now(&state.db, Counter::Signup, lockout, Who::Name(name), ip).await
}

fn closed() -> AppError {
    AppError::SignupClosed("signup is closed")
}

async fn record(tx: &TenantTx, meta: &RequestMeta, user: &user::Model) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "user.signed_up",
        target_type: "user",
        target_id: Some(user.id),
        changes: Some(json!({
            "email": user.email, "dealership_id": user.dealership_id, "by": "open_signup",
        })),
    };
    audit::record(tx, meta, event).await
}
