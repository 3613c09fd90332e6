//! `POST /oauth2/token` (RFC 6749 §3.2): the authorization code and refresh token grants, for
//! the client that authenticates, and the client-credentials grant of a service account
//! ([`client_credentials`]). No password grant and no implicit flow: the password is
//! typed on the provider's own page only.

use poem::{Body, Request, Response, handler, web::Data};
use serde_json::json;

use super::{
    client_auth, client_credentials,
    error::OAuthError,
    params::Params,
    tokens::{self, Authentication},
};
use crate::{
    http::request_meta,
    service::oauth::{
        Client,
        grants::{self, Exchange, Granted, Refused},
    },
    state::AppState,
};

#[handler]
pub async fn token(
    req: &Request,
    body: Body,
    state: Data<&AppState>,
) -> Result<Response, OAuthError> {
    let params = Params::of_form(req, body).await?;
    let meta = request_meta(req, &state);
    if params.get("grant_type") == Some("client_credentials") {
        return client_credentials::grant(&state, req, &params, &meta).await;
    }
    let client = client_auth::authenticate(&state, req, &params, &meta).await?;
    let granted = match params.require("grant_type")? {
        "authorization_code" => {
            let exchange = Exchange {
                code: params.require("code")?,
                redirect_uri: params.get("redirect_uri"),
                verifier: params.get("code_verifier"),
            };
            grants::exchange(&state, &client, exchange, &meta).await
        }
        "refresh_token" => {
            let raw = params.require("refresh_token")?;
            grants::refresh(&state, &client, raw, &meta).await
        }
        other => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            ));
        }
    };
    let granted = granted.map_err(|refused| refusal(&client, refused))?;
    answer(&state, &client, granted)
}

fn refusal(client: &Client, refused: Refused) -> OAuthError {
    crate::metrics::metrics()
        .refreshes
        .with_label_values(&["oauth_refused"])
        .inc();
    match refused {
        Refused::Grant(why) => {
            tracing::info!(client_id = %client.id, reason = why, "grant refused");
            OAuthError::invalid_grant(why)
        }
        Refused::Other(err) => err.into(),
    }
}

/// The token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3): a first-party client gets
/// the API's own access token; a third-party one an `at+jwt` for itself; the refresh token only
/// with `offline_access`; the ID token with `openid`.
fn answer(state: &AppState, client: &Client, granted: Granted) -> Result<Response, OAuthError> {
    let issued = &granted.issued;
    let family = issued.refresh_token.session_id;
    let oidc = &state.settings.oidc;
    let access_token = if client.first_party {
        issued.access_token.clone()
    } else {
        let ttl = state.settings.auth.access_token_ttl_secs;
        tokens::client_access_token(
            &state.oidc,
            client,
            &issued.user,
            family,
            &granted.scopes,
            ttl,
        )?
    };
    let person = tokens::person_claims(&issued.user, &granted.visible, &granted.scopes);
    let authn = Authentication::of(granted.sign_in_id, &issued.authn);
    let nonce = granted.nonce.as_deref();
    let id_token = tokens::id_token(
        &state.oidc,
        client,
        person,
        &authn,
        nonce,
        &access_token,
        oidc.id_token_ttl_secs,
    )?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": granted.scopes.join(" "),
        "id_token": id_token,
    });
    if granted.offline() {
        body["refresh_token"] = json!(issued.refresh_token.expose());
    }
    Ok(Response::builder()
        .content_type("application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(body.to_string()))
}
