//! A new password that meets the policy (NIST 800-63B): 8–128 characters, no composition rules,
//! not one of the most common passwords, not the account's own email.

use std::fmt;

use super::Invalid;

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// The most common passwords of public breach corpora that are 8 characters or longer
/// (shorter ones fail the length rule anyway). Compared case-insensitively.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "pa$$word",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "123123123",
    "11111111",
    "111111111",
    "00000000",
    "000000000",
    "88888888",
    "87654321",
    "987654321",
    "0987654321",
    "12341234",
    "11223344",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "qwerty1234",
    "1qazxsw2",
    "asdfghjkl",
    "asdfasdf",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "football1",
    "baseball",
    "basketball",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "computer",
    "internet",
    "michelle",
    "jennifer",
    "corvette",
    "mercedes",
    "mustang1",
    "master123",
    "monkey123",
    "dragon123",
    "charlie1",
    "shadow12",
    "abcd1234",
    "abc12345",
    "abcdefgh",
    "aaaaaaaa",
    "changeme",
    "changeme1",
    "admin123",
    "admin1234",
    "administrator",
    "root1234",
    "test1234",
    "testtest",
    "secret123",
    "default1",
    "password!",
    "qazwsxedc",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "123qweasd",
    "1234qwer",
    "qwer1234",
    "hello123",
    "freedom1",
    "whatever1",
    "summer2024",
    "winter2024",
    "spring2025",
    "autumn2025",
    "dealership",
    "dealer123",
    "cardealer",
];

/// A password that passed the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// `email` is the account's, when known: a password equal to it (or its local part) is refused.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, Invalid> {
        let refuse = Invalid::new;
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(refuse("must be at least 8 characters"));
        }
        if chars > MAX_CHARS {
            return Err(refuse("must be at most 128 characters"));
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err(refuse(
                "is one of the most common passwords; choose another",
            ));
        }
        if lower.chars().all(|c| lower.starts_with(c)) {
            return Err(refuse("is a single repeated character"));
        }
        if let Some(email) = email {
            let email = email.to_lowercase();
            let local = email.split('@').next().unwrap_or_default();
            if lower == email || lower == local {
                return Err(refuse("must not be your email address"));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(raw: &str) -> String {
        match NewPassword::parse(raw, Some("paula@premiumauto.com")) {
            Err(invalid) => invalid.message().into(),
            Ok(_) => "accepted".into(),
        }
    }

    #[test]
    fn the_policy_is_length_and_commonness_not_composition() {
        assert_eq!(reason("correct horse battery staple"), "accepted");
        assert_eq!(reason("alllowercaseletters"), "accepted");
        assert_eq!(reason("Principal123!"), "accepted");
        assert!(reason("short1!").contains("at least 8"));
        assert!(reason(&"x1".repeat(65)).contains("at most 128"));
        assert!(reason("Password123").contains("common"));
        assert!(reason("QWERTYUIOP").contains("common"));
        assert!(reason("zzzzzzzzzzzz").contains("repeated"));
        assert!(reason("Paula@PremiumAuto.com").contains("email"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(reason("ééééééé1"), "accepted");
        assert!(
            format!("{:?}", NewPassword::parse("correct horse", None).unwrap())
                .contains("redacted")
        );
    }
}
