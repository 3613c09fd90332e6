//! The keys that sign ID tokens (and third-party access tokens): ES256 by default, RS256 and
//! EdDSA for clients that ask for them; every key, current and retired, is in the JWKS.
//!
//! They are not the access-token keys (`auth::keys`), EdDSA included: nothing signed for a
//! client verifies as an access token of the API, whatever its claims, and each set rotates on
//! its own (retired ID-token keys stay in `oidc.verification_key_files`). A key verifies only
//! the algorithm it was made for: a token's header picks the key (`kid`), never the algorithm.

mod material;
#[cfg(test)]
mod tests;

use std::{path::Path, sync::OnceLock};

use anyhow::Context;
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Serialize, de::DeserializeOwned};

pub use material::generate_pem;
use material::{Key, read};

use crate::{
    auth::{
        jwt::LEEWAY_SECS,
        keys::{Jwk, KeySet},
    },
    config::{AuthSettings, Profile, Settings},
    error::AppError,
};

/// An ID-token signing algorithm a client may ask for (`oauth_clients.id_token_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum IdAlg {
    ES256,
    RS256,
    EdDSA,
}

impl IdAlg {
    /// Every one, the default (ES256) first.
    pub const ALL: [IdAlg; 3] = [IdAlg::ES256, IdAlg::RS256, IdAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            IdAlg::ES256 => "ES256",
            IdAlg::RS256 => "RS256",
            IdAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn algorithm(self) -> Algorithm {
        match self {
            IdAlg::ES256 => Algorithm::ES256,
            IdAlg::RS256 => Algorithm::RS256,
            IdAlg::EdDSA => Algorithm::EdDSA,
        }
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
    /// The current key of each algorithm on offer, then the retired keys.
    keys: Vec<Key>,
    /// dev without `oidc.rs256_key_file`: the RS256 key, made when first needed (signing or the
    /// JWKS): RSA key generation takes a quarter of a second even optimised, and every test
    /// starts a server.
    lazy_rs256: Option<OnceLock<Key>>,
}

impl IdKeys {
    /// The configured keys (none with `oidc.enabled` off). In `dev`, an algorithm without a key
    /// file gets an ephemeral key; in `prod` it is not offered (and ES256 is required to serve).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut set = Self {
            keys: Vec::new(),
            lazy_rs256: None,
        };
        if !settings.oidc.enabled {
            return Ok(set);
        }
        set.add_current(settings)?;
        for path in &settings.oidc.verification_key_files {
            set.add_retired(path)?;
        }
        set.refuse_access_keys(&settings.auth)?;
        Ok(set)
    }

    fn add_current(&mut self, settings: &Settings) -> anyhow::Result<()> {
        let oidc = &settings.oidc;
        let dev = settings.profile != Profile::Prod;
        let mut ephemeral = Vec::new();
        let files = [
            (IdAlg::ES256, &oidc.es256_key_file),
            (IdAlg::RS256, &oidc.rs256_key_file),
            (IdAlg::EdDSA, &oidc.eddsa_key_file),
        ];
        for (alg, file) in files {
            match file {
                Some(path) => self.keys.push(Key::load(alg, path)?),
                None if !dev => {}
                None if alg == IdAlg::RS256 => {
                    self.lazy_rs256 = Some(OnceLock::new());
                    ephemeral.push("RS256 (made when first needed)");
                }
                None => {
                    self.keys.push(Key::generate(alg)?);
                    ephemeral.push(alg.as_str());
                }
            }
        }
        if !ephemeral.is_empty() {
            tracing::warn!(
                "no oidc key file for {}: using ephemeral ID-token keys (dev only); ID tokens \
                 die with the process",
                ephemeral.join(", ")
            );
        }
        Ok(())
    }

    fn add_retired(&mut self, path: &Path) -> anyhow::Result<()> {
        let key = Key::retired(&read(path)?).with_context(|| {
            format!(
                "{} is not a P-256, RSA (2048 bits or more) or Ed25519 public key PEM",
                path.display()
            )
        })?;
        if self.key(&key.jwk.kid).is_none() {
            self.keys.push(key);
        }
        Ok(())
    }

    /// Nothing signed here may verify as an access token: no access-token key, current or
    /// retired, is one of these.
    fn refuse_access_keys(&self, auth: &AuthSettings) -> anyhow::Result<()> {
        let access = KeySet::from_settings(auth)?;
        match access
            .jwks()
            .keys
            .iter()
            .find(|k| self.key(&k.kid).is_some())
        {
            Some(shared) => anyhow::bail!(
                "the oidc keys include an access-token key ({}): ID tokens need keys of their \
                 own, or they would pass as access tokens",
                shared.kid
            ),
            None => Ok(()),
        }
    }

    /// The algorithms clients may ask for (discovery's `id_token_signing_alg_values_supported`).
    pub fn algs(&self) -> Vec<IdAlg> {
        IdAlg::ALL
            .into_iter()
            .filter(|&alg| {
                self.keys
                    .iter()
                    .any(|k| k.alg == alg && k.signing.is_some())
                    || (alg == IdAlg::RS256 && self.lazy_rs256.is_some())
            })
            .collect()
    }

    /// A JWT of `claims` signed with the current key of `alg`, with its `kid` and `typ`.
    pub fn sign(&self, alg: IdAlg, typ: &str, claims: &impl Serialize) -> Result<String, AppError> {
        let (key, signing) = self
            .current(alg)
            .and_then(|key| Some((key, key.signing.as_ref()?)))
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("no {} key (not in algs())", alg.as_str()))
            })?;
        let mut header = Header::new(alg.algorithm());
        header.kid = Some(key.jwk.kid.clone());
        header.typ = Some(typ.into());
        encode(&header, claims, signing).map_err(AppError::internal)
    }

    /// The claims of a token signed by one of these keys (current or retired), checked as
    /// `expect` says; any failure is `Unauthenticated` (the reason goes to `debug` only).
    pub fn verify<T: DeserializeOwned>(&self, token: &str, expect: &Expect) -> Result<T, AppError> {
        let refuse = |why: &dyn std::fmt::Display| {
            tracing::debug!(reason = %why, "token signed for a client refused");
            AppError::Unauthenticated
        };
        let header = decode_header(token).map_err(|e| refuse(&e))?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|typ| typ.eq_ignore_ascii_case(expect.typ))
        {
            return Err(refuse(&format!("typ {:?}", header.typ)));
        }
        let kid = header.kid.ok_or_else(|| refuse(&"no kid"))?;
        let key = self.key(&kid).ok_or_else(|| refuse(&"unknown kid"))?;
        // the key's own algorithm, whatever the header says
        let alg = key.alg.algorithm();
        if header.alg != alg {
            return Err(refuse(&format!("{:?} for a {alg:?} key", header.alg)));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[expect.issuer]);
        match expect.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss"]);
            }
        }
        validation.validate_exp = expect.check_expiry;
        validation.leeway = LEEWAY_SECS;
        decode::<T>(token, &key.verifying, &validation)
            .map(|data| data.claims)
            .map_err(|e| refuse(&e))
    }

    /// The public keys, for the JWKS beside the access tokens' keys (in dev this makes the
    /// RS256 key if it was not made yet: a relying party reads the JWKS before its first token).
    pub fn jwks(&self) -> Vec<Jwk> {
        if self.lazy_rs256.is_some() {
            self.current(IdAlg::RS256);
        }
        let lazy = self.lazy_rs256.as_ref().and_then(OnceLock::get);
        self.keys
            .iter()
            .chain(lazy)
            .map(|k| k.jwk.clone())
            .collect()
    }

    /// The key that signs `alg` now (in dev the RS256 key is made here, once).
    fn current(&self, alg: IdAlg) -> Option<&Key> {
        let loaded = self
            .keys
            .iter()
            .find(|k| k.alg == alg && k.signing.is_some());
        match (loaded, &self.lazy_rs256, alg) {
            (Some(key), _, _) => Some(key),
            (None, Some(cell), IdAlg::RS256) => Some(cell.get_or_init(|| {
                // 2048 bits and the OS's randomness: nothing here can fail but the RNG, which
                // panics itself
                Key::generate(IdAlg::RS256).expect("generating an RSA-2048 key")
            })),
            _ => None,
        }
    }

    /// The key named `kid`, current or retired.
    fn key(&self, kid: &str) -> Option<&Key> {
        let lazy = self.lazy_rs256.as_ref().and_then(OnceLock::get);
        self.keys.iter().chain(lazy).find(|k| k.jwk.kid == kid)
    }
}
