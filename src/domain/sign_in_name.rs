//! What a person signs in as: their email address or their phone number, each in the one form
//! it is stored and matched in (lower-cased email, E.164 phone).

use std::fmt;

use super::{Email, Invalid, Phone};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignInName {
    Email(Email),
    Phone(Phone),
}

impl SignInName {
    /// An OAuth2 `username`: a phone if it is written the way a phone must be (a leading `+`,
    /// which no email address starts a sign-in with here), otherwise an email address.
    pub fn parse_username(raw: &str) -> Result<Self, Invalid> {
        if raw.trim_start().starts_with('+') {
            Phone::parse(raw).map(Self::Phone)
        } else {
            Email::parse(raw).map(Self::Email)
        }
    }

    /// `email` or `phone`: the field it came in as, the key of the audit record, the metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Phone(_) => "phone",
        }
    }

    /// The normalised value: the lower-cased address, or the E.164 number.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(email) => email.as_str(),
            Self::Phone(phone) => phone.as_str(),
        }
    }
}

impl From<Email> for SignInName {
    fn from(email: Email) -> Self {
        Self::Email(email)
    }
}

impl From<Phone> for SignInName {
    fn from(phone: Phone) -> Self {
        Self::Phone(phone)
    }
}

impl fmt::Display for SignInName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_with_a_leading_plus_is_a_phone_and_anything_else_an_email() {
        let phone = SignInName::parse_username(" +1 (312) 555-0101").unwrap();
        assert_eq!((phone.kind(), phone.as_str()), ("phone", "+13125550101"));
        let email = SignInName::parse_username("Agent@PremiumAuto.com").unwrap();
        assert_eq!(
            (email.kind(), email.as_str()),
            ("email", "agent@premiumauto.com")
        );
        // a plus inside an address is an address (subaddressing), not a phone
        let tagged = SignInName::parse_username("agent+1@premiumauto.com").unwrap();
        assert_eq!(tagged.kind(), "email");
    }

    #[test]
    fn a_username_is_refused_with_the_reason_of_the_kind_it_looks_like() {
        assert_eq!(
            SignInName::parse_username("+1 555 0100"),
            Err(Phone::parse("+1 555 0100").unwrap_err())
        );
        assert_eq!(
            SignInName::parse_username("3125550101"),
            Err(Email::parse("3125550101").unwrap_err())
        );
    }
}
