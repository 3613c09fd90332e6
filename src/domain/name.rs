//! The names people, dealerships and OpenID clients go by: one line of text, trimmed, of bounded length, with
//! no control or bidi characters (they could make a name display as another, see `text`).

use std::fmt;

use super::{Invalid, text::is_forbidden_in_line};

/// The trimmed text if it is 1 to `max_chars` characters of one-line text.
fn one_line(raw: &str, max_chars: usize) -> Option<String> {
    let trimmed = raw.trim();
    let fits = !trimmed.is_empty()
        && trimmed.chars().count() <= max_chars
        && !trimmed.chars().any(is_forbidden_in_line);
    fits.then(|| trimmed.to_owned())
}

/// A user's first or last name: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        one_line(raw, 100).map(Self).ok_or(Invalid::new(
            "must be 1 to 100 characters, without control characters",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dealership's name: 1–200 characters after trimming. Unique case-insensitively, which the
/// database enforces (a 409), not this type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DealershipName(String);

impl DealershipName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        one_line(raw, 200).map(Self).ok_or(Invalid::new(
            "must be 1 to 200 characters, without control characters",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for DealershipName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OpenID client's name, as the consent page shows it: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientName(String);

impl ClientName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        one_line(raw, 100).map(Self).ok_or(Invalid::new(
            "must be 1 to 100 characters, without control characters",
        ))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A service account's name, as lists and audit events show it: 1–100 characters after
/// trimming, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceAccountName(String);

impl ServiceAccountName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        one_line(raw, 100).map(Self).ok_or(Invalid::new(
            "must be 1 to 100 characters, without control characters",
        ))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names_are_trimmed_and_kept_as_written() {
        for (raw, kept) in [
            ("  Alicia ", "Alicia"),
            ("O'Brien", "O'Brien"),
            ("José-María", "José-María"),
            ("שלום\u{200f}", "שלום\u{200f}"),
            ("e\u{301}", "e\u{301}"),
        ] {
            assert_eq!(PersonName::parse(raw).unwrap().as_str(), kept, "{raw:?}");
        }
        assert_eq!(
            PersonName::parse(&"ü".repeat(100)).unwrap().as_str().len(),
            200
        );
    }

    #[test]
    fn empty_long_or_control_person_names_are_refused() {
        for bad in [
            String::new(),
            "   ".into(),
            "ü".repeat(101),
            "ding\u{7}".into(),
            "Ann\nSmith".into(),
            "abc\u{202e}fdp".into(),
            "\u{2067}abc\u{2069}".into(),
        ] {
            assert_eq!(
                PersonName::parse(&bad).unwrap_err().message(),
                "must be 1 to 100 characters, without control characters",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn dealership_names_allow_200_characters() {
        assert_eq!(
            DealershipName::parse(" Westside Cars ")
                .unwrap()
                .to_string(),
            "Westside Cars"
        );
        assert!(DealershipName::parse(&"🚗".repeat(200)).is_ok());
        for bad in [
            "".into(),
            " ".into(),
            "🚗".repeat(201),
            "a\u{1b}[31m".into(),
        ] {
            assert_eq!(
                DealershipName::parse(&bad).unwrap_err().message(),
                "must be 1 to 200 characters, without control characters",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn client_names_are_one_line_of_at_most_100_characters() {
        let name = ClientName::parse(" Desking ").unwrap();
        assert_eq!(name.into_inner(), "Desking");
        for bad in ["", "x\u{202e}y", &"c".repeat(101)] {
            assert!(ClientName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
