//! A phone number as dealergate stores, shows and matches it: E.164 (`+13125550100`).
//!
//! The rule, in order:
//! 1. trimmed, at most 32 characters (hostile input is bounded before any parsing);
//! 2. no control or bidi characters (`text::is_forbidden_in_line`), and otherwise only digits,
//!    spaces and `+-().` — the characters people write numbers with. This keeps letters (vanity
//!    numbers), `tel:` URIs, `#`, `;ext=` and `x123` extensions, which E.164 cannot hold, out
//!    of the parser;
//! 3. international form: a leading `+` and the country code (there is no default region to
//!    read a national number against);
//! 4. parsed by the `phonenumber` crate (a port of Google's libphonenumber with its metadata),
//!    where it places the separators, and valid for its country by `phonenumber::is_valid`:
//!    a known country code, a length and a number range that the country assigns. So
//!    `+1 (312) 555-0100`, `+1.312.555.0100` and `+44 20 7946 0958` are accepted, while
//!    `+1 555 0100` (seven digits after +1) and `+1 555 555 0100` (555 is no US area code) are
//!    not.
//!
//! Formatting is the crate's E.164 mode, so two spellings of one number are one value.
//! An empty phone means "no phone" or "clear it"; that is decided where the field is read
//! (`http::fields`), not here: `Phone::parse("")` is an error.

use std::fmt;

use phonenumber::Mode;

use super::{Invalid, text::is_forbidden_in_line};

const MAX_CHARS: usize = 32;

const NOT_A_NUMBER: Invalid = Invalid::new(
    "must be a valid phone number in international form: + and the country code, then digits, \
     spaces or -().",
);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.chars().count() > MAX_CHARS {
            return Err(Invalid::new("must be at most 32 characters"));
        }
        let written_as_a_number = raw.starts_with('+')
            && raw
                .chars()
                .all(|c| !is_forbidden_in_line(c) && (c.is_ascii_digit() || " +-().".contains(c)));
        if !written_as_a_number {
            return Err(NOT_A_NUMBER);
        }
        let number = phonenumber::parse(None, raw).map_err(|_| NOT_A_NUMBER)?;
        if !phonenumber::is_valid(&number) || number.extension().is_some() {
            return Err(NOT_A_NUMBER);
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// The E.164 form: `+`, the country code and the national number, digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_numbers_are_stored_in_e164() {
        for (raw, e164) in [
            ("+1 312 555 0100", "+13125550100"),
            ("+1 (312) 555-0100", "+13125550100"),
            ("+1-312-555-0100", "+13125550100"),
            ("+1.312.555.0100", "+13125550100"),
            ("  +13125550100 ", "+13125550100"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+49 30 12345678", "+493012345678"),
            ("+33 1 23 45 67 89", "+33123456789"),
        ] {
            let phone = Phone::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(phone.as_str(), e164, "{raw:?}");
            assert_eq!(phone.to_string(), e164);
            assert_eq!(Phone::parse(e164).unwrap(), phone, "E.164 parses as itself");
        }
    }

    #[test]
    fn numbers_that_are_not_valid_for_their_country_are_refused() {
        for bad in [
            "+1 555 0100",     // seven digits after +1: no North American number
            "+1-555-0100",     // likewise
            "+1 (555) 0101",   // likewise
            "+1 555 555 0100", // 555 is not an area code
            "+1 312 555 010",  // one digit short
            "+1 312 555 01000",
            "+999 1234", // no such country code
            "+",
            "+1",
        ] {
            assert_eq!(Phone::parse(bad), Err(NOT_A_NUMBER), "{bad:?}");
        }
    }

    #[test]
    fn only_international_numbers_written_with_digits_and_separators_are_read() {
        for bad in [
            "",
            "   ",
            "312 555 0100",        // national: no country code
            "00 1 312 555 0100",   // an international prefix is not a country code
            "(+1) 312 555 0100",   // the + must lead
            "tel:+1-312-555-0100", // a URI, not a number
            "+1 800 FLOWERS",      // letters
            "+1 312 555 0100 x5",  // extensions have no E.164 form
            "+1 312 555 0100;ext=5",
            "+1 312 555 0100#",
            "+１ 312 555 0100", // fullwidth digit
            "call me maybe",
            "Robert'); DROP TABLE users;--",
            "+1 312\u{7} 555 0100",
            "+1 312\n555 0100",
            "+1 312 555 0100\u{202e}",
        ] {
            assert_eq!(Phone::parse(bad), Err(NOT_A_NUMBER), "{bad:?}");
        }
    }

    #[test]
    fn length_is_bounded_before_parsing() {
        let padded = format!("+1 312 555 0100{}", " ".repeat(40));
        assert!(Phone::parse(&padded).is_ok(), "trailing blanks are trimmed");
        let spaced = format!("+1{}312 555 0100", " ".repeat(20));
        assert_eq!(
            Phone::parse(&spaced).unwrap_err().message(),
            "must be at most 32 characters"
        );
        assert_eq!(
            Phone::parse(&"9".repeat(33)).unwrap_err().message(),
            "must be at most 32 characters"
        );
    }

    #[test]
    fn no_input_of_the_allowed_alphabet_panics_the_parser() {
        // the parser has panicked on odd input before (rust-phonenumber #32, #43); what reaches
        // it here is `+` and up to 31 of digits and separators
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let alphabet: Vec<char> = "0123456789 +-().".chars().collect();
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..1_000 {
            let len = rng.random_range(0..MAX_CHARS);
            let raw: String = std::iter::once('+')
                .chain((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]))
                .collect();
            if let Ok(phone) = Phone::parse(&raw) {
                assert_eq!(Phone::parse(phone.as_str()).unwrap(), phone, "{raw:?}");
            }
        }
    }
}
