//! Revocation (RFC 7009) and introspection (RFC 7662), for authenticated clients.
//!
//! A client revokes its own tokens: a refresh token or an access token of its family ends that
//! family (its access tokens die at once on every replica). Anything else — unknown, expired,
//! another client's — answers 200 and changes nothing (§2.2: the client cannot tell).
//! Introspection is for resource servers, which are confidential clients: any live access token
//! is described, a refresh token only to its own client.

use poem::{Body, Request, Response, handler, web::Data};
use serde_json::json;

use super::{
    client_auth,
    error::OAuthError,
    params::Params,
    userinfo::{self, Bearer},
};
use crate::{
    auth::{
        principal::scope_of,
        refresh_token::RefreshToken,
        sessions::{Revoked, publish},
    },
    error::AppError,
    http::request_meta,
    scope::RequestMeta,
    service::{audit, oauth::Client, sessions},
    state::AppState,
    tenancy::Scope,
};

#[handler]
pub async fn revoke(
    req: &Request,
    body: Body,
    state: Data<&AppState>,
) -> Result<Response, OAuthError> {
    let params = Params::of_form(req, body).await?;
    let meta = request_meta(req, &state);
    let client = client_auth::authenticate(&state, req, &params, &meta).await?;
    let token = params.require("token")?;
    if let Some(family) = family_of(&state, &client, token).await? {
        end_family(&state, &client, family, &meta).await?;
    }
    Ok(Response::builder()
        .header("cache-control", "no-store")
        .finish())
}

/// The family of `client` that `token` (a refresh or an access token) belongs to.
async fn family_of(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Family>, AppError> {
    if let Some(refresh) = RefreshToken::parse(token) {
        let tx = state.db.begin_reading(Scope::Anonymous).await?;
        let owner = sessions::owner_of(&tx, refresh.session_id).await?;
        tx.commit().await?;
        let Some(owner) = owner.filter(|o| o.client_id == Some(client.id)) else {
            return Ok(None);
        };
        // the token itself, not just its family's id (which every access token names)
        let tx = state
            .db
            .begin_reading(scope_of(owner.dealership_id, owner.group_id))
            .await?;
        let family = sessions::find(&tx, owner.session_id).await?;
        tx.commit().await?;
        let hash = refresh.hash();
        let genuine = family.is_some_and(|f| {
            f.refresh_token_hash == hash || f.previous_token_hash.as_deref() == Some(&hash[..])
        });
        return Ok(genuine.then_some(Family {
            id: owner.session_id,
            user_id: owner.user_id,
            dealership_id: owner.dealership_id,
            group_id: owner.group_id,
        }));
    }
    let Some(bearer) = userinfo::resolve(state, token).await? else {
        return Ok(None);
    };
    let holder = userinfo::holder(state, &bearer).await?;
    let owned = holder.is_some_and(|h| h.client.is_some_and(|c| c.id == client.id));
    Ok(owned.then_some(Family::of(&bearer)))
}

struct Family {
    id: uuid::Uuid,
    user_id: uuid::Uuid,
    dealership_id: Option<uuid::Uuid>,
    group_id: Option<uuid::Uuid>,
}

impl Family {
    fn of(bearer: &Bearer) -> Self {
        Self {
            id: bearer.family,
            user_id: bearer.membership,
            dealership_id: bearer.dealership_id,
            group_id: bearer.group_id,
        }
    }
}

async fn end_family(
    state: &AppState,
    client: &Client,
    family: Family,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let tx = state
        .db
        .begin(scope_of(family.dealership_id, family.group_id))
        .await?;
    if sessions::revoke(&tx, family.user_id, family.id, "client_revoked").await? {
        publish(&tx, Revoked::Session(family.id)).await?;
        let event = audit::Event {
            dealership_id: family.dealership_id,
            actor_id: Some(family.user_id),
            action: "oauth.token_revoked",
            target_type: "session",
            target_id: Some(family.id),
            changes: Some(json!({ "client_id": client.id, "client": client.name })),
        };
        audit::record(&tx, meta, event).await?;
    }
    tx.commit().await?;
    state.auth.sessions.apply(Revoked::Session(family.id)).await;
    Ok(())
}

#[handler]
pub async fn introspect(
    req: &Request,
    body: Body,
    state: Data<&AppState>,
) -> Result<Response, OAuthError> {
    let params = Params::of_form(req, body).await?;
    let meta = request_meta(req, &state);
    let client = client_auth::authenticate(&state, req, &params, &meta).await?;
    if !client.confidential {
        return Err(OAuthError::invalid_client());
    }
    let token = params.require("token")?;
    let answer = describe(&state, &client, token)
        .await?
        .unwrap_or_else(|| json!({ "active": false }));
    Ok(Response::builder()
        .content_type("application/json")
        .header("cache-control", "no-store")
        .body(answer.to_string()))
}

async fn describe(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<serde_json::Value>, AppError> {
    if RefreshToken::parse(token).is_some() {
        let Some(family) = family_of(state, client, token).await? else {
            return Ok(None);
        };
        let tx = state
            .db
            .begin_reading(scope_of(family.dealership_id, family.group_id))
            .await?;
        let session = sessions::find(&tx, family.id).await?;
        tx.commit().await?;
        let now = chrono::Utc::now();
        return Ok(session
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now && s.absolute_expires_at > now)
            .map(|s| {
                json!({
                    "active": true, "token_type": "refresh_token", "client_id": client.id,
                    "exp": s.expires_at.min(s.absolute_expires_at).timestamp(),
                    "scope": s.client_scopes.unwrap_or_default().join(" "),
                })
            }));
    }
    let Some(bearer) = userinfo::resolve(state, token).await? else {
        return Ok(None);
    };
    let Some(holder) = userinfo::holder(state, &bearer).await? else {
        return Ok(None);
    };
    let first_party = bearer.client_id.is_none();
    Ok(Some(json!({
        "active": true,
        "token_type": "Bearer",
        "sub": holder.user.person_id,
        "client_id": holder.client.as_ref().map(|c| c.id),
        "scope": holder.scopes.join(" "),
        "exp": bearer.exp,
        "iat": bearer.iat,
        "iss": if first_party { state.settings.auth.issuer.clone() } else { state.oidc.issuer.clone() },
        "aud": match (first_party, &holder.client) {
            (false, Some(c)) => c.id.to_string(),
            _ => state.settings.auth.audience.clone(),
        },
        "sid": bearer.family,
        "membership_id": bearer.membership,
        "dealership_id": bearer.dealership_id,
        "group_id": bearer.group_id,
    })))
}
