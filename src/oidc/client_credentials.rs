//! The client-credentials grant (RFC 6749 §4.4) of a service account: its key id is the
//! `client_id` and the key's secret the `client_secret` (`client_secret_basic` or
//! `client_secret_post`). The answer is the API's own access token naming the account, as
//! short-lived as a person's; no refresh token (the client asks again), no ID token (no
//! person signed in). The token dies with its key or its account, on every replica at once.

use poem::Response;
use serde_json::json;
use uuid::Uuid;

use super::{client_auth::basic_credentials, error::OAuthError, params::Params};
use crate::{
    auth::{
        jwt,
        principal::usable_key,
        throttle::{self, Counter, Who},
    },
    scope::RequestMeta,
    state::AppState,
    tenancy::Scope,
};

pub async fn grant(
    state: &AppState,
    req: &poem::Request,
    params: &Params,
    meta: &RequestMeta,
) -> Result<Response, OAuthError> {
    let (id, secret) = credentials(req, params)?;
    let id = Uuid::try_parse(&id).map_err(|_| OAuthError::invalid_client())?;
    let tx = state.db.begin(Scope::Anonymous).await?;
    let ip = meta.ip.as_deref();
    if let Some(wait) =
        throttle::locked_counting(&tx, Counter::ClientSecret, Who::Client(id), ip).await?
    {
        return Err(crate::error::AppError::RateLimited {
            retry_after_secs: wait,
        }
        .into());
    }
    let key = match usable_key(&state.auth, &state.db, id, &secret).await {
        Ok(key) => key,
        Err(_) => {
            let lockout = &state.settings.auth.lockout;
            throttle::record_of(&tx, Counter::ClientSecret, lockout, Who::Client(id), ip).await?;
            tx.commit().await?;
            tracing::info!(client_id = %id, "service account authentication refused");
            return Err(OAuthError::invalid_client());
        }
    };
    tx.commit().await?;
    let access_token = jwt::issue_machine(&state.auth.keys, &state.settings.auth, &key)?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.settings.auth.access_token_ttl_secs,
    });
    Ok(Response::builder()
        .content_type("application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(body.to_string()))
}

/// The client's id and secret, by one method only (a confidential client: a secret is required).
fn credentials(req: &poem::Request, params: &Params) -> Result<(String, String), OAuthError> {
    match (basic_credentials(req)?, params.get("client_secret")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the credentials",
                ));
            }
            Ok((id, secret))
        }
        (None, Some(secret)) => Ok((params.require("client_id")?.to_owned(), secret.to_owned())),
        (None, None) => Err(OAuthError::invalid_client()),
    }
}
