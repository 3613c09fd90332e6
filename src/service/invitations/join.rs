//! An invitation to an address that signs in already (`POST /auth/join`): the person accepts
//! it with their password and the invitation becomes a membership of theirs — one person, one
//! password, a place in one more dealership. The password is checked as a login checks it
//! (throttled per address and client IP, the same 401 for any wrong pair), and every attempt
//! counts against the invitation as a signup's does. Nothing is said to the inviter about
//! whether the address had an account: inviting answers alike either way.

use super::signup::{accept, admit, placement_of, presented, throttled};
use crate::{
    auth::principal::scope_of,
    domain::{Email, Role, SignInName},
    error::AppError,
    scope::RequestMeta,
    service::{
        sign_in::{self, Issued},
        users::{self, manage::add_membership},
    },
    state::AppState,
    tenancy::Scope,
};

pub async fn join(
    state: &AppState,
    invitation_token: &str,
    password: String,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let (token, invitation) = presented(state, invitation_token).await?;
    throttled(state, invitation.id, meta).await?;
    let name = SignInName::Email(Email::parse(&invitation.email).map_err(AppError::internal)?);
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let person = users::login_candidate(&tx, &name).await?;
    tx.commit().await?;
    // a platform admin works in no dealership: their account takes no invitation
    if person
        .as_ref()
        .is_some_and(|p| p.memberships.iter().any(|m| m.role == Role::Admin))
    {
        return Err(AppError::Conflict(
            "a platform admin's account cannot join a dealership".into(),
        ));
    }
    let person = person.map(|p| (p.person_id, p.password_hash));
    let person_id = person.as_ref().map(|(id, _)| *id);
    let checked = (person, invitation.dealership_id);
    sign_in::verify_password_of(state, &name, checked, password, meta).await?;
    let person_id = person_id.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("a password matched without a person"))
    })?;

    let tx = state
        .db
        .begin(scope_of(invitation.dealership_id, None))
        .await?;
    let invitation = accept(&tx, &token, invitation.id).await?;
    let placed = placement_of(&invitation);
    // 409 if the person is a member there already (the invitation stays unused); the
    // membership takes the invitation's id, which `POST /users` answered as the user's
    let membership = invitation.id;
    let user = add_membership(&tx, person_id, membership, placed, invitation.invited_by).await?;
    let issued = admit(state, &tx, &invitation, user, meta).await?;
    tx.commit().await?;
    Ok(issued)
}
