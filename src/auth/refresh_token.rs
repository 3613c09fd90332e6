//! Refresh tokens: `<session id>.<256-bit secret>`, shown once, stored only as a SHA-256 hash.
//!
//! Rotation derives the next secret as HMAC(server secret, session id ‖ presented secret). A
//! tab that refreshes with the token another tab just rotated (inside the grace window) is
//! therefore handed the *same* new token, so every tab converges on the session's current
//! token instead of holding one that would later look like a replay. Without the server secret
//! the next token cannot be computed from a stolen one.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const SECRET_BYTES: usize = 32;

/// How many rotations forward a presented token is followed to recognise it as a retired one of
/// its family: 43 days of refreshing every 15 minutes. A token retired longer ago than that is
/// refused without ending the session.
pub const MAX_REPLAY_WALK: u32 = 4096;

#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub session_id: Uuid,
    secret: [u8; SECRET_BYTES],
}

/// The server-side key of the rotation chain (`auth.refresh_token_secret`).
#[derive(Clone)]
pub struct RotationKey(Vec<u8>);

impl RotationKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    /// Dev without a configured secret: random, so refresh tokens die with the process.
    pub fn ephemeral() -> Self {
        Self(rand::random::<[u8; 32]>().to_vec())
    }

    /// A key for another purpose (`label`), derived from the same server secret, so every
    /// replica derives the same one and none is configured twice.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(label);
        mac.finalize().into_bytes().into()
    }
}

impl RefreshToken {
    /// The first token of a new session.
    pub fn generate(session_id: Uuid) -> Self {
        Self {
            session_id,
            secret: rand::random(),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (sid, secret) = raw.trim().split_once('.')?;
        let session_id = Uuid::try_parse(sid).ok()?;
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        Some(Self {
            session_id,
            secret: bytes.try_into().ok()?,
        })
    }

    /// What the database stores and compares.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.secret).to_vec()
    }

    /// The token that replaces this one; the same input always gives the same successor.
    pub fn successor(&self, key: &RotationKey) -> Self {
        // HMAC accepts keys of any length
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
        mac.update(self.session_id.as_bytes());
        mac.update(&self.secret);
        Self {
            session_id: self.session_id,
            secret: mac.finalize().into_bytes().into(),
        }
    }

    /// Whether this token is a genuine ancestor, at most `rotations` back, of the token whose hash
    /// is `current_hash`. Only a real retired token of the family passes: a forged secret that
    /// merely names the session never reaches the current token, as the chain is keyed.
    pub fn precedes(&self, key: &RotationKey, current_hash: &[u8], rotations: u32) -> bool {
        let mut token = self.clone();
        for _ in 0..rotations.min(MAX_REPLAY_WALK) {
            token = token.successor(key);
            if token.hash() == current_hash {
                return true;
            }
        }
        false
    }

    /// The wire form; hand it to the client once and forget it.
    pub fn expose(&self) -> String {
        format!(
            "{}.{}",
            self.session_id.simple(),
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshToken({}, [redacted])", self.session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_hide_their_secret() {
        let token = RefreshToken::generate(Uuid::now_v7());
        let parsed = RefreshToken::parse(&token.expose()).unwrap();
        assert!(parsed == token);
        assert_eq!(token.hash().len(), 32);
        assert!(!format!("{token:?}").contains(&token.expose()[33..]));
    }

    #[test]
    fn successors_are_deterministic_per_key_and_distinct_from_their_parent() {
        let token = RefreshToken::generate(Uuid::now_v7());
        let key = RotationKey::new(&[7; 32]);
        assert!(token.successor(&key) == token.successor(&key));
        assert!(token.successor(&key) != token);
        assert!(token.successor(&key) != token.successor(&RotationKey::new(&[8; 32])));
    }

    #[test]
    fn only_genuine_ancestors_precede_the_current_token() {
        let key = RotationKey::new(&[7; 32]);
        let first = RefreshToken::generate(Uuid::now_v7());
        let mut current = first.clone();
        for _ in 0..5 {
            current = current.successor(&key);
        }
        assert!(first.precedes(&key, &current.hash(), 5));
        assert!(
            !first.precedes(&key, &current.hash(), 4),
            "bounded by the rotations"
        );
        assert!(
            !current.precedes(&key, &current.hash(), 5),
            "not its own ancestor"
        );
        let forged = RefreshToken::generate(first.session_id);
        assert!(!forged.precedes(&key, &current.hash(), 5));
        let other_key = RotationKey::new(&[8; 32]);
        assert!(!first.precedes(&other_key, &current.hash(), 5));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let sid = Uuid::now_v7().simple().to_string();
        for bad in [
            "",
            "abc",
            "x.y",
            &format!("{sid}.tooshort"),
            &sid,
            "eyJhbGciOiJFZERTQSJ9.e30.sig",
        ] {
            assert!(RefreshToken::parse(bad).is_none(), "{bad}");
        }
    }
}
