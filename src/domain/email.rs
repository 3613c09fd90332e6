//! An email address as dealergate stores and matches it: trimmed and lower-cased.

use std::fmt;

use super::Invalid;

const NOT_AN_ADDRESS: Invalid = Invalid::new("not a valid address");

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes up to 254 characters; the mailbox itself is not probed.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 {
            return Err(Invalid::new("longer than 254 characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(NOT_AN_ADDRESS);
        };
        let plain = |s: &str| {
            !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || super::text::is_forbidden_in_line(c))
        };
        if !plain(local)
            || !plain(domain)
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(NOT_AN_ADDRESS);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Agent@PremiumAuto.com ").unwrap().as_str(),
            "agent@premiumauto.com"
        );
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@@example.com",
            "a@example.com.",
            "a@\u{0}x.com",
        ] {
            assert_eq!(Email::parse(bad), Err(NOT_AN_ADDRESS), "{bad:?}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250)))
                .unwrap_err()
                .message(),
            "longer than 254 characters"
        );
    }
}
