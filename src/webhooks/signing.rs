//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is `whsec_` and
//! the base64 of random bytes; the signature is `v1,` and the base64 of the HMAC-SHA256, keyed
//! with the decoded secret, of `{webhook-id}.{webhook-timestamp}.{body}`. During a rotation
//! the request carries one signature per live secret, space-separated: a receiver that knows
//! either verifies it.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a `whsec_` secret; `None` if it is not one.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(PREFIX)?)
        .ok()
        .filter(|k| (16..=64).contains(&k.len()))
}

/// The `webhook-signature` header: `v1,<sig>` for each key, space-separated.
pub fn signature(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            // HMAC takes a key of any length
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key size");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_is_whsec_and_32_bytes() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(key_of(&secret).map(|k| k.len()), Some(32));
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn the_signature_matches_the_specifications_example() {
        // the example of the Standard Webhooks reference libraries
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_keys_give_two_signatures() {
        let keys = [vec![1u8; 32], vec![2u8; 32]];
        let header = signature(&keys, "id", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn what_is_not_a_secret_has_no_key() {
        assert_eq!(key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), None);
        assert_eq!(key_of("whsec_not base64!"), None);
    }
}
