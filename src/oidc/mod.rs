//! dealergate as an OpenID Connect provider (issue 25): discovery, the authorization code flow
//! with PKCE at `/oauth2/*`, ID tokens, userinfo, revocation, introspection and logout.
//!
//! The endpoints answer in the shapes RFC 6749 and OpenID Connect Core define (not the API's
//! error body): relying-party libraries parse those. The pages a person sees on the way (sign-in,
//! the dealership picker, consent) are the console's.

mod client_auth;
mod client_credentials;
mod cors;
mod discovery;
pub mod error;
pub mod keys;
mod params;
pub mod request;
mod revocation;
mod token;
pub mod tokens;
mod userinfo;

use poem::{Endpoint, EndpointExt, IntoResponse, Route, get, post};

use crate::{config::Settings, state::AppState};

/// `/oauth2/*`: the console's `pages` (authorize, logout) and the endpoints clients call
/// themselves (token, userinfo, revocation, introspection; CORS for registered origins);
/// nothing at all when `oidc.enabled` is off.
pub fn routes(state: &AppState, pages: Route) -> impl Endpoint + 'static {
    let enabled = state.settings.oidc.enabled;
    pages
        .at("/token", post(token::token).around(cors::allow))
        .at(
            "/userinfo",
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .around(cors::allow),
        )
        .at("/revoke", post(revocation::revoke).around(cors::allow))
        .at("/introspect", post(revocation::introspect))
        .around(move |next, req| when_enabled(enabled, next, req))
}

/// `/.well-known/openid-configuration` (404 when `oidc.enabled` is off).
pub fn discovery(state: &AppState) -> impl Endpoint + 'static {
    let enabled = state.settings.oidc.enabled;
    get(discovery::configuration).around(move |next, req| when_enabled(enabled, next, req))
}

/// `next`'s answer, or 404 when `oidc.enabled` is off.
async fn when_enabled<E: Endpoint>(
    enabled: bool,
    next: E,
    req: poem::Request,
) -> poem::Result<poem::Response> {
    if !enabled {
        return Ok(poem::Response::builder()
            .status(poem::http::StatusCode::NOT_FOUND)
            .finish());
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// The provider's identity and keys, one per replica.
pub struct Provider {
    /// `iss` of ID tokens and the base of every endpoint in the discovery document.
    pub issuer: String,
    pub keys: keys::IdKeys,
    /// The origins CORS allows at the token endpoint, as last looked up.
    origins: cors::Origins,
}

impl Provider {
    /// The configured issuer; else in dev this server's own address `bound` (`localhost` for a
    /// loopback listener), in prod the mailed links' base.
    pub fn build(settings: &Settings, bound: std::net::SocketAddr) -> anyhow::Result<Self> {
        let own = match settings.profile {
            crate::config::Profile::Dev => {
                crate::config::MailSettings::default().public_base_url_for(settings.profile, bound)
            }
            crate::config::Profile::Prod => settings.mail.public_base_url.clone(),
        };
        let issuer = settings
            .oidc
            .issuer
            .clone()
            .or(own)
            .map(|issuer| issuer.trim_end_matches('/').to_owned())
            .ok_or_else(|| anyhow::anyhow!("oidc.issuer is not set"))?;
        Ok(Self {
            issuer,
            keys: keys::IdKeys::from_settings(settings)?,
            origins: cors::Origins::new(),
        })
    }

    /// An endpoint's address: the issuer and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
