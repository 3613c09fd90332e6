//! Signing and verification keys (Ed25519), their `kid`s, and the JWKS that publishes them.
//!
//! One key signs; every configured key verifies, so a key can be rotated without logging anyone
//! out: add the new one as signing key, keep the old public key in `verification_key_files`
//! until the last token it signed has expired.

use std::{collections::HashMap, path::Path};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{
        DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey,
        spki::der::pem::LineEnding,
    },
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::AuthSettings;

/// The public half of a key as a JWK (RFC 8037 OKP).
#[derive(Debug, Clone, Serialize, poem_openapi::Object)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    #[oai(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Serialize, poem_openapi::Object)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

pub struct KeySet {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
    /// Generated at start (dev without a configured key): tokens die with the process.
    pub ephemeral: bool,
}

impl KeySet {
    /// The configured keys; in `dev` with none configured, a fresh ephemeral key.
    pub fn from_settings(auth: &AuthSettings) -> anyhow::Result<Self> {
        let signing_pem = match (&auth.signing_key, &auth.signing_key_file) {
            (Some(inline), _) => Some(inline.expose().clone()),
            (None, Some(path)) => Some(read(path)?),
            (None, None) => None,
        };
        let (signing, ephemeral) = match signing_pem {
            Some(pem) => (
                SigningKey::from_pkcs8_pem(pem.trim())
                    .context("auth.signing_key is not an Ed25519 PKCS#8 PEM")?,
                false,
            ),
            None => (SigningKey::from_bytes(&rand::random::<[u8; 32]>()), true),
        };
        let mut retired = Vec::new();
        for path in &auth.verification_key_files {
            let pem = read(path)?;
            retired.push(
                VerifyingKey::from_public_key_pem(pem.trim()).with_context(|| {
                    format!("{} is not an Ed25519 public key PEM", path.display())
                })?,
            );
        }
        Self::new(&signing, &retired, ephemeral)
    }

    fn new(
        signing: &SigningKey,
        retired: &[VerifyingKey],
        ephemeral: bool,
    ) -> anyhow::Result<Self> {
        let der = signing.to_pkcs8_der().context("encoding the signing key")?;
        let mut set = Self {
            signing_kid: String::new(),
            signing: EncodingKey::from_ed_der(der.as_bytes()),
            verifying: HashMap::new(),
            jwks: Jwks { keys: Vec::new() },
            ephemeral,
        };
        set.signing_kid = set.add_verifying(&signing.verifying_key())?;
        for key in retired {
            set.add_verifying(key)?;
        }
        Ok(set)
    }

    fn add_verifying(&mut self, key: &VerifyingKey) -> anyhow::Result<String> {
        let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
        let kid = thumbprint(&x);
        if self.verifying.contains_key(&kid) {
            return Ok(kid);
        }
        self.verifying
            .insert(kid.clone(), DecodingKey::from_ed_components(&x)?);
        self.jwks.keys.push(Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            kid: kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        });
        Ok(kid)
    }

    pub fn signing(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    pub fn verifying(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// RFC 7638 thumbprint of an Ed25519 JWK: a `kid` that is a function of the key itself.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))
}

/// A new key pair as PEM: `(private PKCS#8, public SPKI)`, for `dealergate keys generate`.
pub fn generate_pem() -> anyhow::Result<(String, String)> {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the private key")?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .context("encoding the public key")?;
    Ok((private.to_string(), public))
}

/// Writes `signing.pem` (mode 0600) and `signing.pub.pem` into `dir`; refuses to overwrite.
pub fn write_key_pair(dir: &Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let (private, public) = generate_pem()?;
    let private_path = dir.join("signing.pem");
    let public_path = dir.join("signing.pub.pem");
    for path in [&private_path, &public_path] {
        if path.exists() {
            bail!("{} exists; move it away first", path.display());
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&private_path)?, private.as_bytes())?;
    std::fs::write(&public_path, public)?;
    Ok((private_path, public_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pems_load_and_publish_one_jwk_per_key() {
        let (private, _) = generate_pem().unwrap();
        let (_, retired_public) = generate_pem().unwrap();
        let dir = std::env::temp_dir().join(format!("dg-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("old.pub.pem"), retired_public).unwrap();
        let auth = AuthSettings {
            signing_key: Some(crate::config::Secret::new(private)),
            verification_key_files: vec![dir.join("old.pub.pem")],
            ..AuthSettings::default()
        };
        let keys = KeySet::from_settings(&auth).unwrap();
        assert!(!keys.ephemeral);
        assert_eq!(keys.jwks().keys.len(), 2);
        let (kid, _) = keys.signing();
        assert_eq!(keys.jwks().keys[0].kid, kid);
        assert!(
            keys.jwks()
                .keys
                .iter()
                .all(|k| keys.verifying(&k.kid).is_some())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn write_key_pair_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("dg-keys-{}", uuid::Uuid::new_v4()));
        write_key_pair(&dir).unwrap();
        assert!(write_key_pair(&dir).is_err());
        let pem = std::fs::read_to_string(dir.join("signing.pem")).unwrap();
        assert!(SigningKey::from_pkcs8_pem(&pem).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
