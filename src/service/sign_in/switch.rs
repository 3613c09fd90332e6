//! Switching dealerships within one sign-in (`POST /auth/switch`): no password, since the
//! person proved it for this sign-in already. The target membership's dealership gets a refresh
//! family of its own — a tenant row there, in the same sign-in — so a tab on each dealership
//! refreshes within its own membership, and logout ends them all.
//!
//! A switch always opens a new family: resuming one would mean handing out its refresh token,
//! which only the tab holding it has (only hashes are stored), and rotating it here would turn
//! that tab's token into a replay. The second factor the sign-in proved comes along (its time,
//! not a new one, so a switch never freshens a step-up); where the target dealership requires a
//! factor the person has not enrolled, the new tokens are `must_enrol` there.

use uuid::Uuid;

use super::{Issued, issue_in, open_family};
use crate::{
    auth::principal::scope_of,
    entity::{membership::Place, session},
    error::AppError,
    scope::{Caller, RequestMeta},
    service::{
        audit,
        oauth::Client,
        sessions::{self, Carried, ClientFamily},
        users,
    },
    state::AppState,
    tenancy::TenantTx,
};

/// Tokens for the caller's membership in `dealership_id`, in the caller's own sign-in; 404 if
/// the person has no membership there that may sign in.
pub async fn switch(
    state: &AppState,
    caller: &Caller,
    place: Place,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let me = &caller.principal;
    // where the caller stands now: their sign-in, its second factor, their memberships
    let tx = state.db.begin_reading(me.scope()).await?;
    let session = sessions::find(&tx, me.session_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let places = users::memberships_of(&tx, me.person_id).await?;
    let target = places
        .iter()
        .find(|m| m.is_at(place))
        .ok_or(AppError::NotFound("membership"))?;
    let client = client_family(&tx, &session, target.user_id).await?;
    tx.commit().await?;

    let tx = state
        .db
        .begin(scope_of(target.dealership_id, target.group_id))
        .await?;
    let user = users::find_signable(&tx, target.user_id)
        .await?
        .ok_or(AppError::NotFound("membership"))?;
    let family = (Uuid::now_v7(), session.sign_in_id);
    let refresh_token = open_family(
        state,
        &tx,
        &user,
        meta,
        family,
        Carried::from(&session),
        client,
    )
    .await?;
    let user = users::touch_last_login(&tx, user).await?;
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "session.switched",
        target_type: "session",
        target_id: Some(refresh_token.session_id),
        changes: Some(serde_json::json!({
            "from_dealership_id": me.dealership_id, "sign_in_id": session.sign_in_id,
        })),
    };
    audit::record(&tx, meta, event).await?;
    let issued = issue_in(state, &tx, user, refresh_token).await?;
    tx.commit().await?;
    // last_login changed: this replica shows it at once (the trigger tells the others)
    let changed = crate::auth::sessions::Revoked::Profile(me.person_id);
    state.auth.sessions.apply(changed).await;
    Ok(issued)
}

/// An OpenID client's family switches within what that client may use (its dealerships and
/// groups), and the new family stays the client's; the API's and the console's are free.
async fn client_family(
    tx: &TenantTx,
    session: &session::Model,
    target: Uuid,
) -> Result<Option<ClientFamily>, AppError> {
    let Some(client_id) = session.client_id else {
        return Ok(None);
    };
    let client = Client::find(tx, client_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if client.usable_by(tx, &[target]).await?.is_empty() {
        return Err(AppError::NotFound("membership"));
    }
    Ok(Some(ClientFamily {
        client_id,
        scopes: session.client_scopes.clone().unwrap_or_default(),
    }))
}
