//! `/oauth2/userinfo` (OpenID Connect Core §5.3): the person's claims for the scopes the token
//! was granted. It takes a first-party client's token (the API's own) and a third-party
//! client's `at+jwt`; either must belong to a live family, checked as every request's token
//! is (so a revoked consent, a logout or a deactivation ends it at once).

use poem::{Body, Request, Response, handler, web::Data};
use uuid::Uuid;

use super::{error::OAuthError, params::Params, tokens};
use crate::{
    auth::{
        principal::{authenticate, scope_of},
        sessions::SessionState,
    },
    entity::user,
    error::AppError,
    service::{oauth::Client, sessions, users},
    state::AppState,
};

/// A live access token, whichever kind.
pub struct Bearer {
    pub family: Uuid,
    pub membership: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// The client of a third-party token (a first-party token's client is its family's).
    pub client_id: Option<Uuid>,
    pub exp: i64,
    pub iat: i64,
}

/// The live access token `token` is, or `None`.
pub async fn resolve(state: &AppState, token: &str) -> Result<Option<Bearer>, AppError> {
    let auth = &state.settings.auth;
    if let Ok(claims) = state
        .auth
        .sessions
        .tokens()
        .verify(&state.auth.keys, auth, token)
    {
        let principal = match authenticate(&state.auth, auth, &state.db, token).await {
            Ok(principal) if principal.service_account.is_none() => principal,
            // a service account's token names no person: no userinfo, inactive to introspection
            Ok(_) | Err(AppError::Unauthenticated) => return Ok(None),
            Err(err) => return Err(err),
        };
        return Ok(Some(Bearer {
            family: principal.session_id,
            membership: principal.user_id,
            dealership_id: principal.dealership_id,
            group_id: principal.group_id,
            client_id: None,
            exp: claims.exp,
            iat: claims.iat,
        }));
    }
    let Ok(claims) = tokens::verify_client_access(&state.oidc, token) else {
        return Ok(None);
    };
    let load = async {
        let tx = state
            .db
            .begin_reading(scope_of(claims.dealership_id, claims.group_id))
            .await?;
        let found = crate::auth::sessions::load(&tx, claims.sid).await?;
        tx.commit().await?;
        Ok(found)
    };
    let alive = |s: &SessionState| s.live && s.user_id == claims.mid && s.person_id == claims.sub;
    let state_now = state.auth.sessions.state(claims.sid, load).await?;
    Ok(state_now.filter(alive).map(|_| Bearer {
        family: claims.sid,
        membership: claims.mid,
        dealership_id: claims.dealership_id,
        group_id: claims.group_id,
        client_id: Uuid::try_parse(&claims.client_id).ok(),
        exp: claims.exp,
        iat: claims.iat,
    }))
}

/// What userinfo and introspection read of a bearer's family: its person and what its client
/// was granted (a family of no client, the API's own: `openid profile email dealership`).
pub struct Holder {
    pub user: user::Model,
    pub scopes: Vec<String>,
    pub client: Option<Client>,
    pub visible: Vec<crate::entity::membership::Summary>,
}

pub async fn holder(state: &AppState, bearer: &Bearer) -> Result<Option<Holder>, AppError> {
    let tx = state
        .db
        .begin_reading(scope_of(bearer.dealership_id, bearer.group_id))
        .await?;
    let (Some(session), Some(user)) = (
        sessions::find(&tx, bearer.family).await?,
        users::find_signable(&tx, bearer.membership).await?,
    ) else {
        return Ok(None);
    };
    let all = users::memberships_of(&tx, user.person_id).await?;
    let client = match session.client_id {
        Some(id) => Client::find(&tx, id).await?,
        None => None,
    };
    let (scopes, visible) = match &client {
        Some(client) => (
            session.client_scopes.unwrap_or_default(),
            crate::service::oauth::grants::visible(&tx, client, &all).await?,
        ),
        None if session.client_id.is_some() => return Ok(None),
        None => (
            ["openid", "profile", "email", "dealership"]
                .map(String::from)
                .to_vec(),
            all,
        ),
    };
    tx.commit().await?;
    Ok(Some(Holder {
        user,
        scopes,
        client,
        visible,
    }))
}

/// GET or POST with the token as `Authorization: Bearer` (or, POST, `access_token` in the
/// form: RFC 6750 §2.2).
#[handler]
pub async fn userinfo(
    req: &Request,
    body: Body,
    state: Data<&AppState>,
) -> Result<Response, OAuthError> {
    let token = bearer_of(req, body).await?;
    let bearer = resolve(&state, &token)
        .await?
        .ok_or_else(OAuthError::invalid_token)?;
    let holder = holder(&state, &bearer)
        .await?
        .ok_or_else(OAuthError::invalid_token)?;
    let claims = tokens::person_claims(&holder.user, &holder.visible, &holder.scopes);
    Ok(Response::builder()
        .content_type("application/json")
        .header("cache-control", "no-store")
        .body(serde_json::Value::Object(claims).to_string()))
}

async fn bearer_of(req: &Request, body: Body) -> Result<String, OAuthError> {
    if let Some(value) = req.header("authorization") {
        return value
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_owned())
            .ok_or_else(OAuthError::invalid_token);
    }
    if req.method() == poem::http::Method::POST {
        let params = Params::of_form(req, body).await?;
        if let Some(token) = params.get("access_token") {
            return Ok(token.to_owned());
        }
    }
    Err(OAuthError::new(
        401,
        "invalid_token",
        "no access token was sent",
    ))
}
