//! Tokens that mail carries (password reset; later email verification and change):
//! `<token id>.<256-bit secret>`, shown once in a link, stored only as a SHA-256 hash. The id
//! finds the row by key (the definer lookup) and the secret is compared under RLS.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct AccountToken {
    pub id: Uuid,
    secret: [u8; 32],
}

impl AccountToken {
    pub fn generate() -> Self {
        Self {
            id: Uuid::now_v7(),
            secret: rand::random(),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (id, secret) = raw.trim().split_once('.')?;
        Some(Self {
            id: Uuid::try_parse(id).ok()?,
            secret: URL_SAFE_NO_PAD.decode(secret).ok()?.try_into().ok()?,
        })
    }

    /// The token as the link carries it; never logged or stored.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.id, URL_SAFE_NO_PAD.encode(self.secret))
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.secret).to_vec()
    }

    /// Whether `stored` is this token's hash, compared in constant time.
    pub fn matches(&self, stored: &[u8]) -> bool {
        let hash = self.hash();
        hash.len() == stored.len()
            && hash.iter().zip(stored).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
    }
}

/// What a token is bound to, hashed: the password hash a reset may replace (any change since,
/// even to the same password, has a new salt and voids the token), or the address a
/// verification confirms (a changed email voids it).
pub fn bound_to(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_only_its_own_hash_matches() {
        let token = AccountToken::generate();
        let parsed = AccountToken::parse(&token.expose()).expect("parses");
        assert_eq!(parsed.id, token.id);
        assert!(parsed.matches(&token.hash()));
        assert!(!AccountToken::generate().matches(&token.hash()));
        assert!(AccountToken::parse("not-a-token").is_none());
        assert!(AccountToken::parse(&format!("{}.short", token.id)).is_none());
        assert_eq!(token.expose().len(), 36 + 1 + 43, "256 bits of secret");
    }
}
