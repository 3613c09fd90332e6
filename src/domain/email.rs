//! An email address as dealergate stores and matches it: trimmed and lower-cased.

use std::fmt;

use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes up to 254 characters; the mailbox itself is not probed.
    pub fn parse(field: &str, raw: &str) -> Result<Self, AppError> {
        let email = raw.trim().to_lowercase();
        let invalid = |why: &str| AppError::Validation(vec![FieldError::new(field, why)]);
        if email.len() > 254 {
            return Err(invalid("longer than 254 characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("not a valid address"));
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
            return Err(invalid("not a valid address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
            Email::parse("email", "  Agent@PremiumAuto.com ")
                .unwrap()
                .as_str(),
            "agent@premiumauto.com"
        );
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_field_named() {
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
            match Email::parse("email", bad) {
                Err(AppError::Validation(fields)) => assert_eq!(fields[0].field, "email", "{bad}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(Email::parse("email", &format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
