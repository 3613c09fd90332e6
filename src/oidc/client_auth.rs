//! Who is calling the token, revocation and introspection endpoints (RFC 6749 §2.3): a
//! confidential client by `client_secret_basic` or `client_secret_post` (one of them, never
//! both), a public client by its `client_id` alone. Wrong secrets are counted per client and
//! address as failed logins are, and lock out the same way.

use base64::{Engine, engine::general_purpose::STANDARD};
use uuid::Uuid;

use super::{error::OAuthError, params::Params};
use crate::{
    auth::throttle::{self, Counter, Who},
    scope::RequestMeta,
    service::oauth::Client,
    state::AppState,
    tenancy::Scope,
};

/// The client `req` authenticates as.
pub async fn authenticate(
    state: &AppState,
    req: &poem::Request,
    params: &Params,
    meta: &RequestMeta,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(req)?;
    let (id, secret) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the credentials",
                ));
            }
            (id, Some(secret))
        }
        (None, secret) => (
            params.require("client_id")?.to_owned(),
            secret.map(str::to_owned),
        ),
    };
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
    let client = Client::find(&tx, id).await?;
    let accepted = match (&client, &secret) {
        (Some(c), Some(secret)) => c.confidential && c.secret_matches(secret),
        (Some(c), None) => !c.confidential,
        (None, _) => false,
    };
    if !accepted {
        let lockout = &state.settings.auth.lockout;
        throttle::record_of(&tx, Counter::ClientSecret, lockout, Who::Client(id), ip).await?;
        tx.commit().await?;
        tracing::info!(client_id = %id, "client authentication refused");
        return Err(OAuthError::invalid_client());
    }
    tx.commit().await?;
    client.ok_or_else(OAuthError::invalid_client)
}

/// `Authorization: Basic` of form-encoded id and secret (RFC 6749 §2.3.1).
pub(super) fn basic_credentials(
    req: &poem::Request,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.header("authorization") else {
        return Ok(None);
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Err(OAuthError::invalid_client());
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}
