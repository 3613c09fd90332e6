//! The keys that sign ID tokens (and third-party access tokens): ES256 by default, RS256 and
//! EdDSA for clients that ask for them; every key, current and retired, is in the JWKS.
//!
//! STUB (issue 25, in progress): an ephemeral Ed25519 key stands in for every algorithm until
//! the real key set lands; the interface below is the one the provider uses.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Serialize, de::DeserializeOwned};

use crate::{auth::keys::Jwk, config::Settings, error::AppError};

/// An ID-token signing algorithm a client may ask for (`oauth_clients.id_token_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum IdAlg {
    ES256,
    RS256,
    EdDSA,
}

impl IdAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            IdAlg::ES256 => "ES256",
            IdAlg::RS256 => "RS256",
            IdAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [IdAlg::ES256, IdAlg::RS256, IdAlg::EdDSA]
            .into_iter()
            .find(|alg| alg.as_str() == name)
    }
}

/// What to check of a token signed here.
pub struct Expect<'a> {
    pub issuer: &'a str,
    /// The audience it must name; `None`: any.
    pub audience: Option<&'a str>,
    /// The `typ` header it must carry (`JWT` for ID tokens, `at+jwt` for access tokens).
    pub typ: &'a str,
    /// Refuse it once expired (an `id_token_hint` may be expired).
    pub check_expiry: bool,
}

pub struct IdKeys {
    kid: String,
    signing: EncodingKey,
    verifying: DecodingKey,
    ed: ed25519_dalek::VerifyingKey,
}

impl IdKeys {
    pub fn from_settings(_settings: &Settings) -> anyhow::Result<Self> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let der = key.to_pkcs8_der()?;
        let x = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            key.verifying_key().as_bytes(),
        );
        Ok(Self {
            kid: format!("stub-{}", &x[..8]),
            signing: EncodingKey::from_ed_der(der.as_bytes()),
            verifying: DecodingKey::from_ed_components(&x)?,
            ed: key.verifying_key(),
        })
    }

    /// The algorithms clients may ask for (discovery's `id_token_signing_alg_values_supported`).
    pub fn algs(&self) -> Vec<IdAlg> {
        vec![IdAlg::ES256, IdAlg::RS256, IdAlg::EdDSA]
    }

    /// A JWT of `claims` signed with the current key of `alg`, with its `kid` and `typ`.
    pub fn sign(
        &self,
        _alg: IdAlg,
        typ: &str,
        claims: &impl Serialize,
    ) -> Result<String, AppError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.into());
        encode(&header, claims, &self.signing).map_err(AppError::internal)
    }

    /// The claims of a token signed by one of these keys (current or retired), checked as
    /// `expect` says; any failure is `Unauthenticated`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, expect: &Expect) -> Result<T, AppError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        if header.typ.as_deref() != Some(expect.typ) || header.kid.as_deref() != Some(&self.kid) {
            return Err(AppError::Unauthenticated);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[expect.issuer]);
        match expect.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        validation.validate_exp = expect.check_expiry;
        validation.leeway = 5;
        decode::<T>(token, &self.verifying, &validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated)
    }

    /// The public keys, for the JWKS beside the access tokens' keys.
    pub fn jwks(&self) -> Vec<Jwk> {
        let _ = &self.ed;
        Vec::new()
    }
}
