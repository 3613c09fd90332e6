//! Recovery codes: ten per user, shown once, each usable once ever. 60 random bits in twelve
//! characters of an unambiguous alphabet (`xxxx-xxxx-xxxx`); stored as an HMAC of the user's id
//! and the normalised code ([`SecretBox::code_digest`](super::SecretBox::code_digest); case,
//! dashes and spaces do not matter when one is typed in).

pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz0";
const LEN: usize = 12;

pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let raw: [u8; LEN] = rand::random();
            let chars: String = raw
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
                .collect();
            format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..])
        })
        .collect()
}

/// The code without separators, lower-cased; `None` unless it has the shape of a code.
pub fn normalise(code: &str) -> Option<String> {
    let bare: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (bare.len() == LEN && bare.bytes().all(|b| ALPHABET.contains(&b))).then_some(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_read_back_however_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            COUNT
        );
        let code = &codes[0];
        assert_eq!(code.len(), 14);
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(normalise(&typed), normalise(code));
        assert!(normalise("short").is_none() && normalise("0123-4567-89ab!").is_none());
    }
}
