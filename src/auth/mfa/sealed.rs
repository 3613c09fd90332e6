//! TOTP secrets at rest: AES-256-GCM under `auth.mfa.encryption_key`, with a fresh nonce per
//! secret and the factor's and user's ids as associated data, so a sealed secret copied to
//! another row (or another user) does not open.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Keys the recovery-code hashes (derived from the same configured key).
    codes_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// The key configured as base64 of 32 bytes; `None` if it is anything else.
    pub fn from_base64(key: &str) -> Option<Self> {
        let key: [u8; 32] = STANDARD.decode(key.trim()).ok()?.try_into().ok()?;
        Some(Self::from_key(key))
    }

    /// The configured `auth.mfa.encryption_key`, or (without one: the configuration check
    /// refuses that in prod) the development key.
    pub fn configured(settings: &crate::config::MfaSettings) -> anyhow::Result<Self> {
        use anyhow::Context;
        match &settings.encryption_key {
            Some(key) => Self::from_base64(key.expose())
                .context("auth.mfa.encryption_key is not the base64 of 32 bytes"),
            None => {
                tracing::warn!(
                    "no auth.mfa.encryption_key: TOTP secrets are sealed with the development key (dev only)"
                );
                Ok(Self::development())
            }
        }
    }

    /// The fixed development key, for a dev profile without `auth.mfa.encryption_key`: secrets
    /// survive a restart, and `prod` refuses to start without a key of its own.
    pub fn development() -> Self {
        Self::from_key(Sha256::digest(b"dealergate development MFA key").into())
    }

    fn from_key(key: [u8; 32]) -> Self {
        let codes_key = Sha256::new()
            .chain_update(b"dealergate recovery codes\0")
            .chain_update(key)
            .finalize()
            .into();
        Self {
            cipher: Aes256Gcm::new(&key.into()),
            codes_key,
        }
    }

    /// HMAC-SHA256 of a recovery code under a key derived from the configured one, with the
    /// user's id: a copied table alone gives no way to test guesses.
    pub fn code_digest(&self, user_id: Uuid, normalised: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.codes_key).expect("any key size");
        mac.update(user_id.as_bytes());
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `nonce || ciphertext` of `secret`, bound to the factor and its user.
    pub fn seal(&self, factor_id: Uuid, user_id: Uuid, secret: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad(factor_id, user_id),
                },
            )
            .expect("AES-GCM encrypts any secret of this size");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The secret, if `sealed` was sealed by this key for this factor and user.
    pub fn open(&self, factor_id: Uuid, user_id: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad(factor_id, user_id),
                },
            )
            .ok()
    }
}

fn aad(factor_id: Uuid, user_id: Uuid) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(factor_id.as_bytes());
    aad[16..].copy_from_slice(user_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_factor_and_user() {
        let key = STANDARD.encode([7u8; 32]);
        let sealer = SecretBox::from_base64(&key).unwrap();
        let (factor, user) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = sealer.seal(factor, user, b"twenty bytes secret!");
        assert!(
            !sealed.windows(6).any(|w| w == b"twenty"),
            "not in the clear"
        );
        assert_eq!(
            sealer.open(factor, user, &sealed).as_deref(),
            Some(&b"twenty bytes secret!"[..])
        );
        assert_eq!(sealer.open(Uuid::now_v7(), user, &sealed), None);
        assert_eq!(sealer.open(factor, Uuid::now_v7(), &sealed), None);
        assert_eq!(SecretBox::development().open(factor, user, &sealed), None);
        assert_eq!(sealer.open(factor, user, &sealed[..5]), None);
        assert!(SecretBox::from_base64("c2hvcnQ=").is_none());
        // recovery-code digests depend on the key and the user
        let digest = sealer.code_digest(user, "abcdefghjkmn");
        assert_eq!(digest, sealer.code_digest(user, "abcdefghjkmn"));
        assert_ne!(digest, sealer.code_digest(factor, "abcdefghjkmn"));
        assert_ne!(
            digest,
            SecretBox::development().code_digest(user, "abcdefghjkmn")
        );
    }
}
