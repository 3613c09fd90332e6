//! dealergate as an OpenID Connect provider (`[oidc]`): its issuer, its ID-token signing keys,
//! and how long codes and rotated client secrets live ([`OidcSettings`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// Serve `/oauth2/*` and `/.well-known/openid-configuration` (off: 404).
    pub enabled: bool,
    /// The issuer (`iss` of ID tokens, the discovery document's base): an https URL in prod.
    /// Unset: `mail.public_base_url`, or in dev this server's own address.
    pub issuer: Option<String>,
    /// The ES256 (P-256) key that signs ID tokens, a PKCS#8 PEM; dev without one makes an
    /// ephemeral key at start, prod refuses to serve without it.
    pub es256_key_file: Option<PathBuf>,
    /// The RS256 key for clients whose library needs it (PKCS#8 PEM, 2048 bits or more);
    /// unset: no client may ask for RS256 (dev: an ephemeral key, made when first needed).
    pub rs256_key_file: Option<PathBuf>,
    /// The EdDSA (Ed25519) key for clients that ask for it, a PKCS#8 PEM: not the access-token
    /// key, so nothing signed for a client verifies as an access token of the API. Unset: no
    /// client may ask for EdDSA (dev: an ephemeral key).
    pub eddsa_key_file: Option<PathBuf>,
    /// Public keys (SPKI PEM: P-256, RSA or Ed25519) of retired ID-token keys, still published
    /// in the JWKS and verified until every token they signed has expired.
    pub verification_key_files: Vec<PathBuf>,
    /// How long an authorization code may be exchanged (RFC 6749 §4.1.2: at most 10 minutes).
    pub code_ttl_secs: u64,
    /// How long an ID token is valid.
    pub id_token_ttl_secs: u64,
    /// How long a client's previous secret keeps working after a rotation.
    pub secret_overlap_secs: u64,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            issuer: None,
            es256_key_file: None,
            rs256_key_file: None,
            eddsa_key_file: None,
            verification_key_files: Vec::new(),
            code_ttl_secs: 60,
            id_token_ttl_secs: 300,
            secret_overlap_secs: 24 * 60 * 60,
        }
    }
}
