//! ID-token key material: private keys read from PKCS#8 PEM files or made afresh, retired
//! public keys read from SPKI PEM files, each as a [`Key`] with its JWK.

use std::path::Path;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::{
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding},
};
// rand_core 0.6, the one p256 and rsa take
use rsa::{
    RsaPrivateKey, RsaPublicKey, pkcs1::EncodeRsaPrivateKey, rand_core::OsRng,
    traits::PublicKeyParts,
};

use super::IdAlg;
use crate::auth::keys::Jwk;
pub(super) use crate::auth::keys::read;

/// RSA keys shorter than this are refused (RFC 7518 §3.3).
const RSA_MIN_BITS: usize = 2048;

/// One key: what it publishes, what it verifies, and for a current key what it signs with.
pub(super) struct Key {
    pub jwk: Jwk,
    /// The only algorithm it signs and verifies.
    pub alg: IdAlg,
    pub verifying: DecodingKey,
    /// `None`: a retired key, which only verifies.
    pub signing: Option<EncodingKey>,
}

impl Key {
    /// The private key of `alg` in the PKCS#8 PEM file `path`.
    pub fn load(alg: IdAlg, path: &Path) -> anyhow::Result<Self> {
        let pem = read(path)?;
        let pem = pem.trim();
        let wrong = || {
            format!(
                "{} is not a PKCS#8 PEM {} key (`dealergate keys generate --alg {}` makes one)",
                path.display(),
                curve(alg),
                alg.as_str()
            )
        };
        match alg {
            IdAlg::ES256 => es256(&p256::SecretKey::from_pkcs8_pem(pem).with_context(wrong)?),
            IdAlg::RS256 => rs256(&RsaPrivateKey::from_pkcs8_pem(pem).with_context(wrong)?),
            IdAlg::EdDSA => eddsa(&SigningKey::from_pkcs8_pem(pem).with_context(wrong)?),
        }
        .with_context(|| format!("the {} key in {}", alg.as_str(), path.display()))
    }

    /// A new key of `alg`, for dev.
    pub fn generate(alg: IdAlg) -> anyhow::Result<Self> {
        match alg {
            IdAlg::ES256 => es256(&p256::SecretKey::random(&mut OsRng)),
            IdAlg::RS256 => rs256(&RsaPrivateKey::new(&mut OsRng, RSA_MIN_BITS)?),
            IdAlg::EdDSA => eddsa(&SigningKey::from_bytes(&rand::random::<[u8; 32]>())),
        }
    }

    /// A retired key: the public key (P-256, RSA or Ed25519) in an SPKI PEM.
    pub fn retired(pem: &str) -> anyhow::Result<Self> {
        let pem = pem.trim();
        // each parser checks the key's algorithm identifier, so at most one accepts it
        let (jwk, alg) = if let Ok(key) = p256::PublicKey::from_public_key_pem(pem) {
            (p256_jwk(&key)?, IdAlg::ES256)
        } else if let Ok(key) = RsaPublicKey::from_public_key_pem(pem) {
            (rsa_jwk(&key)?, IdAlg::RS256)
        } else if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            (Jwk::ed25519(key.as_bytes()), IdAlg::EdDSA)
        } else {
            bail!("not a P-256, RSA or Ed25519 public key PEM");
        };
        Self::new(jwk, alg, None)
    }

    fn new(jwk: Jwk, alg: IdAlg, signing: Option<EncodingKey>) -> anyhow::Result<Self> {
        Ok(Self {
            verifying: jwk.decoding_key()?,
            jwk,
            alg,
            signing,
        })
    }
}

fn es256(key: &p256::SecretKey) -> anyhow::Result<Key> {
    let der = key.to_pkcs8_der().context("encoding the P-256 key")?;
    let signing = EncodingKey::from_ec_der(der.as_bytes());
    Key::new(p256_jwk(&key.public_key())?, IdAlg::ES256, Some(signing))
}

fn rs256(key: &RsaPrivateKey) -> anyhow::Result<Key> {
    // jsonwebtoken signs RSA with a PKCS#1 DER
    let der = key.to_pkcs1_der().context("encoding the RSA key")?;
    let signing = EncodingKey::from_rsa_der(der.as_bytes());
    Key::new(rsa_jwk(&key.to_public_key())?, IdAlg::RS256, Some(signing))
}

fn eddsa(key: &SigningKey) -> anyhow::Result<Key> {
    let der = key.to_pkcs8_der().context("encoding the Ed25519 key")?;
    let signing = EncodingKey::from_ed_der(der.as_bytes());
    let jwk = Jwk::ed25519(key.verifying_key().as_bytes());
    Key::new(jwk, IdAlg::EdDSA, Some(signing))
}

fn p256_jwk(key: &p256::PublicKey) -> anyhow::Result<Jwk> {
    let point = key.to_encoded_point(false);
    match (point.x(), point.y()) {
        (Some(x), Some(y)) => Ok(Jwk::p256(x, y)),
        _ => bail!("the P-256 key is the identity point"),
    }
}

fn rsa_jwk(key: &RsaPublicKey) -> anyhow::Result<Jwk> {
    let bits = key.n().bits();
    if bits < RSA_MIN_BITS {
        bail!("an RSA key of {bits} bits: RS256 keys need {RSA_MIN_BITS} or more");
    }
    Ok(Jwk::rsa(&key.n().to_bytes_be(), &key.e().to_bytes_be()))
}

fn curve(alg: IdAlg) -> &'static str {
    match alg {
        IdAlg::ES256 => "P-256",
        IdAlg::RS256 => "RSA",
        IdAlg::EdDSA => "Ed25519",
    }
}

/// A new key pair of `alg` as PEM: `(private PKCS#8, public SPKI)`, for `dealergate keys
/// generate --alg` (RSA: 2048 bits).
pub fn generate_pem(alg: IdAlg) -> anyhow::Result<(String, String)> {
    let (private, public) = match alg {
        IdAlg::ES256 => {
            let key = p256::SecretKey::random(&mut OsRng);
            (
                key.to_pkcs8_pem(LineEnding::LF),
                key.public_key().to_public_key_pem(LineEnding::LF),
            )
        }
        IdAlg::RS256 => {
            let key = RsaPrivateKey::new(&mut OsRng, RSA_MIN_BITS)?;
            (
                key.to_pkcs8_pem(LineEnding::LF),
                key.to_public_key().to_public_key_pem(LineEnding::LF),
            )
        }
        IdAlg::EdDSA => return crate::auth::keys::generate_pem(),
    };
    let private = private.context("encoding the private key")?;
    let public = public.context("encoding the public key")?;
    Ok((private.to_string(), public))
}
