//! Refresh-token rotation: one conditional UPDATE decides the first use; a token another tab
//! rotated moments ago gets the same successor, and any retired token of the family presented
//! later is a replay that ends the whole session.

use super::{Issued, count_refresh, issue_in};
use crate::{
    auth::{
        principal::scope_of,
        refresh_token::RefreshToken,
        sessions::{self as cache, Revoked},
    },
    error::AppError,
    scope::RequestMeta,
    service::{audit, sessions, users},
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// Rotates the session's refresh token. A token another tab rotated moments ago (inside the
/// grace window) gets the same successor; any retired token of the family presented later is a
/// replay and ends the whole session. `client` is who presents it: the OpenID client the
/// family is bound to, or `None` for the API's and the console's families — a client's token
/// is refused anywhere else (RFC 9700 §4.14: refresh tokens are bound to their client).
pub async fn refresh(
    state: &AppState,
    raw_token: &str,
    client: Option<uuid::Uuid>,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let presented = RefreshToken::parse(raw_token).ok_or(AppError::Unauthenticated)?;
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let owner = sessions::owner_of(&tx, presented.session_id).await?;
    tx.commit().await?;
    let owner = owner
        .filter(|owner| owner.client_id == client)
        .ok_or(AppError::Unauthenticated)?;

    let auth = &state.settings.auth;
    let next = presented.successor(&state.auth.rotation);
    let tx = state
        .db
        .begin(scope_of(owner.dealership_id, owner.group_id))
        .await?;
    let first_use = sessions::rotate(
        &tx,
        owner.session_id,
        presented.hash(),
        next.hash(),
        auth.refresh_token_ttl_secs as i64,
    )
    .await?;
    if !first_use {
        let grace = auth.refresh_grace_secs as i64;
        let chain = sessions::chain(&tx, owner.session_id, grace).await?;
        match judge_stale(chain, &presented, &next) {
            Stale::InGrace => count_refresh("grace"),
            Stale::Replayed => return Err(end_replayed_family(state, tx, &owner, meta).await),
            Stale::MaybeRetired { current, rotations } => {
                // the walk is CPU work: give the connection back while it runs
                tx.commit().await?;
                if is_retired(state, &presented, current, rotations).await? {
                    let tx = state
                        .db
                        .begin(scope_of(owner.dealership_id, owner.group_id))
                        .await?;
                    return Err(end_replayed_family(state, tx, &owner, meta).await);
                }
                count_refresh("refused");
                return Err(AppError::Unauthenticated);
            }
            Stale::Unknown => {
                count_refresh("refused");
                return Err(AppError::Unauthenticated);
            }
        }
    }
    let user = users::find_signable(&tx, owner.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // the same `amr` and `auth_time` as before; where the user stands is asked again
    let issued = issue_in(state, &tx, user, next).await?;
    tx.commit().await?;
    if first_use {
        count_refresh("rotated");
    }
    Ok(issued)
}

/// Ends the session whose current refresh token is `raw_token` (an idle console session),
/// audited as `session.ended` with `reason`; any other token changes nothing.
pub async fn end_by_refresh_token(
    state: &AppState,
    raw_token: &str,
    meta: &RequestMeta,
    reason: &'static str,
) -> Result<(), AppError> {
    let Some(presented) = RefreshToken::parse(raw_token) else {
        return Ok(());
    };
    let tx = state.db.begin_reading(Scope::Anonymous).await?;
    let owner = sessions::owner_of(&tx, presented.session_id).await?;
    tx.commit().await?;
    let Some(owner) = owner else {
        return Ok(());
    };
    let tx = state
        .db
        .begin(scope_of(owner.dealership_id, owner.group_id))
        .await?;
    if sessions::revoke_presented(&tx, owner.session_id, presented.hash(), reason).await? {
        let event = audit::Event {
            dealership_id: owner.dealership_id,
            actor_id: Some(owner.user_id),
            action: "session.ended",
            target_type: "session",
            target_id: Some(owner.session_id),
            changes: Some(serde_json::json!({ "reason": reason })),
        };
        audit::record(&tx, meta, event).await?;
        cache::publish(&tx, Revoked::Session(owner.session_id)).await?;
    }
    tx.commit().await
}

/// What a presented token that is not the session's current one is.
enum Stale {
    /// The token another tab rotated moments ago: its successor is the current token.
    InGrace,
    /// A retired token of this family (RFC 9700 §4.14.2): someone holds a stolen copy.
    Replayed,
    /// Perhaps a token retired further back: follow the chain to find out.
    MaybeRetired { current: Vec<u8>, rotations: u32 },
    /// Not a token of this family, or the session is over: refused, nothing changes.
    Unknown,
}

fn judge_stale(
    chain: Option<sessions::Chain>,
    presented: &RefreshToken,
    next: &RefreshToken,
) -> Stale {
    let Some(chain) = chain.filter(|c| !c.revoked) else {
        return Stale::Unknown;
    };
    let presented_hash = presented.hash();
    if chain.refresh_token_hash == presented_hash {
        // the current token, yet not rotated: the session expired or reached its rotation limit
        return Stale::Unknown;
    }
    if chain.previous_token_hash == Some(presented_hash) {
        let converges = chain.in_grace && next.hash() == chain.refresh_token_hash;
        return if converges {
            Stale::InGrace
        } else {
            Stale::Replayed
        };
    }
    Stale::MaybeRetired {
        current: chain.refresh_token_hash,
        rotations: u32::try_from(chain.rotation_count).unwrap_or(0),
    }
}

/// Follows the keyed chain forward from the presented token: only a genuine retired token meets
/// the current one, so guessing a session id cannot end someone else's session.
async fn is_retired(
    state: &AppState,
    presented: &RefreshToken,
    current: Vec<u8>,
    rotations: u32,
) -> Result<bool, AppError> {
    let (presented, key) = (presented.clone(), state.auth.rotation.clone());
    tokio::task::spawn_blocking(move || presented.precedes(&key, &current, rotations))
        .await
        .map_err(AppError::internal)
}

/// Revokes the whole session a replayed token belongs to, audited and announced to every
/// replica; the answer is the refusal the replaying client gets.
async fn end_replayed_family(
    state: &AppState,
    tx: TenantTx,
    owner: &sessions::Owner,
    meta: &RequestMeta,
) -> AppError {
    let ended = async {
        sessions::revoke(&tx, owner.user_id, owner.session_id, "refresh_token_reuse").await?;
        audit::record(
            &tx,
            meta,
            audit::Event {
                dealership_id: owner.dealership_id,
                actor_id: None,
                action: "session.refresh_token_reused",
                target_type: "session",
                target_id: Some(owner.session_id),
                changes: Some(serde_json::json!({"user_id": owner.user_id, "revoked": true})),
            },
        )
        .await?;
        cache::publish(&tx, Revoked::Session(owner.session_id)).await?;
        tx.commit().await
    };
    if let Err(err) = ended.await {
        return err;
    }
    state
        .auth
        .sessions
        .apply(Revoked::Session(owner.session_id))
        .await;
    tracing::warn!(session_id = %owner.session_id, "refresh token replayed: session revoked");
    count_refresh("reuse_detected");
    AppError::Unauthenticated
}
