//! Access tokens' signing and verification keys (Ed25519), their `kid`s, and the JWK form in
//! which every published key (these and the ID-token keys of `oidc::keys`) appears.
//!
//! One key signs; every configured key verifies, so a key can be rotated without logging anyone
//! out: add the new one as signing key, keep the old public key in `verification_key_files`
//! until the last token it signed has expired.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

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

/// The public half of a key as a JWK: OKP (Ed25519, RFC 8037) for access tokens and EdDSA ID
/// tokens, EC (P-256) and RSA (RFC 7518 §6) for ID tokens. Each type sends only its own members.
#[derive(Debug, Clone, Serialize, poem_openapi::Object)]
pub struct Jwk {
    /// `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// The curve (`Ed25519`, `P-256`) of an OKP or EC key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub crv: Option<String>,
    /// The public key (OKP) or its x coordinate (EC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub x: Option<String>,
    /// The y coordinate (EC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub y: Option<String>,
    /// The modulus (RSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub n: Option<String>,
    /// The public exponent (RSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub e: Option<String>,
    /// The RFC 7638 thumbprint of the key: a function of the key itself.
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`: the one algorithm the key verifies.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[oai(rename = "use")]
    pub use_: String,
}

impl Jwk {
    /// An Ed25519 public key (its 32 bytes).
    pub fn ed25519(public: &[u8]) -> Self {
        let x = URL_SAFE_NO_PAD.encode(public);
        // RFC 7638 §3.2: the required members in lexicographic order, without whitespace
        let kid = thumbprint(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#));
        Self {
            crv: Some("Ed25519".into()),
            x: Some(x),
            ..Self::bare("OKP", kid, "EdDSA")
        }
    }

    /// A P-256 public key (its affine coordinates, 32 bytes each).
    pub fn p256(x: &[u8], y: &[u8]) -> Self {
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let kid = thumbprint(&format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
        ));
        Self {
            crv: Some("P-256".into()),
            x: Some(x),
            y: Some(y),
            ..Self::bare("EC", kid, "ES256")
        }
    }

    /// An RSA public key (modulus and exponent, big-endian without leading zeros).
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        let (n, e) = (URL_SAFE_NO_PAD.encode(n), URL_SAFE_NO_PAD.encode(e));
        let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Self {
            n: Some(n),
            e: Some(e),
            ..Self::bare("RSA", kid, "RS256")
        }
    }

    fn bare(kty: &str, kid: String, alg: &str) -> Self {
        Self {
            kty: kty.into(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid,
            alg: alg.into(),
            use_: "sig".into(),
        }
    }

    /// What verifies a signature of this key (built from the published members, so what
    /// verifies is exactly what the JWKS shows).
    pub fn decoding_key(&self) -> anyhow::Result<DecodingKey> {
        let member = |m: &Option<String>| m.clone().context("a JWK member is missing");
        Ok(match self.kty.as_str() {
            "OKP" => DecodingKey::from_ed_components(&member(&self.x)?)?,
            "EC" => DecodingKey::from_ec_components(&member(&self.x)?, &member(&self.y)?)?,
            "RSA" => DecodingKey::from_rsa_components(&member(&self.n)?, &member(&self.e)?)?,
            other => bail!("unknown key type {other}"),
        })
    }
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
        let jwk = Jwk::ed25519(key.as_bytes());
        let kid = jwk.kid.clone();
        if self.verifying.contains_key(&kid) {
            return Ok(kid);
        }
        self.verifying.insert(kid.clone(), jwk.decoding_key()?);
        self.jwks.keys.push(jwk);
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

/// RFC 7638: the base64url SHA-256 of a JWK's canonical members, its `kid`.
fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

pub(crate) fn read(path: &Path) -> anyhow::Result<String> {
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
pub fn write_key_pair(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    write_pem_pair(dir, "signing", generate_pem)
}

/// Writes the pair `generate` makes as `<stem>.pem` (mode 0600) and `<stem>.pub.pem` into `dir`;
/// refuses to overwrite either.
pub fn write_pem_pair(
    dir: &Path,
    stem: &str,
    generate: impl FnOnce() -> anyhow::Result<(String, String)>,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let private_path = dir.join(format!("{stem}.pem"));
    let public_path = dir.join(format!("{stem}.pub.pem"));
    for path in [&private_path, &public_path] {
        if path.exists() {
            bail!("{} exists; move it away first", path.display());
        }
    }
    let (private, public) = generate()?;
    std::fs::create_dir_all(dir)?;
    let create = |path: &Path, mode: u32, text: &str| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
    };
    create(&private_path, 0o600, &private)?;
    create(&public_path, 0o644, &public)?;
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
    fn kids_are_the_rfc_7638_thumbprints_of_the_published_members() {
        let decode = |b64: &str| URL_SAFE_NO_PAD.decode(b64).unwrap();
        // RFC 8037 appendix A.3
        let okp = Jwk::ed25519(&decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"));
        assert_eq!(okp.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        // RFC 7638 section 3.1
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc\
                 _BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0\
                 _FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v\
                 MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let rsa = Jwk::rsa(&decode(n), &decode("AQAB"));
        assert_eq!(rsa.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(
            (rsa.n.as_deref(), rsa.e.as_deref()),
            (Some(n), Some("AQAB"))
        );
        assert!(rsa.crv.is_none() && rsa.x.is_none() && rsa.y.is_none());
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
