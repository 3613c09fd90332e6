//! dealergate as an OpenID Connect provider (issue 25): discovery, the authorization code flow
//! with PKCE at `/oauth2/*`, ID tokens, userinfo, revocation, introspection and logout.
//!
//! The endpoints answer in the shapes RFC 6749 and OpenID Connect Core define (not the API's
//! error body): relying-party libraries parse those. The pages a person sees on the way (sign-in,
//! the dealership picker, consent) are the console's.

pub mod keys;

use crate::config::Settings;

/// The provider's identity and keys, one per replica.
pub struct Provider {
    /// `iss` of ID tokens and the base of every endpoint in the discovery document.
    pub issuer: String,
    pub keys: keys::IdKeys,
}

impl Provider {
    /// The configured issuer (or the mailed links' base, or in dev this server's own address
    /// `bound`) and the ID-token keys.
    pub fn build(settings: &Settings, bound: std::net::SocketAddr) -> anyhow::Result<Self> {
        let issuer = match &settings.oidc.issuer {
            Some(issuer) => issuer.trim_end_matches('/').to_owned(),
            None => settings
                .mail
                .public_base_url_for(settings.profile, bound)
                .ok_or_else(|| anyhow::anyhow!("oidc.issuer is not set"))?,
        };
        Ok(Self {
            issuer,
            keys: keys::IdKeys::from_settings(settings)?,
        })
    }

    /// An endpoint's address: the issuer and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
