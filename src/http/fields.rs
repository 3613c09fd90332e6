//! Which field of the body was wrong: the one place a parse error (`domain::Invalid`, which names
//! no field) gets its field name and becomes a 422 `details` entry.
//!
//! A handler parses every field, pairs each result with its name, and checks them together, so
//! the client hears about every invalid field at once, in the order they are listed:
//!
//! ```ignore
//! let (email, first_name, phone) = fields::check((
//!     ("email", Email::parse(&b.email)),
//!     ("first_name", PersonName::parse(&b.first_name)),
//!     ("phone", fields::optional(b.phone.as_deref(), Phone::parse)),
//! ))?;
//! ```
//!
//! An optional field of an edit is `b.email.as_deref().map(Email::parse).transpose()`;
//! [`optional`] and [`clearable`] say what a blank string means where that is not "invalid".

use crate::{
    domain::Invalid,
    error::{AppError, FieldError},
};

/// A tuple of `(field name, parse result)` pairs.
pub trait Fields {
    /// The parsed values, in the order of the fields.
    type Values;

    /// The values if every field parsed; else a 422 listing every invalid field, in order.
    fn check(self) -> Result<Self::Values, AppError>;
}

/// The values of `fields` if all parsed, or one 422 naming each field that did not.
pub fn check<F: Fields>(fields: F) -> Result<F::Values, AppError> {
    fields.check()
}

/// One field alone: its value, or a 422 naming it.
pub fn one<T>(name: &'static str, parsed: Result<T, Invalid>) -> Result<T, AppError> {
    check(((name, parsed),)).map(|(value,)| value)
}

/// A field that may be left out or blank (a new user's phone): either is `None`.
pub fn optional<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    clearable(raw, parse).map(Option::flatten)
}

/// A field of an edit that a blank string clears: left out is `None` (unchanged), blank is
/// `Some(None)` (cleared), anything else is parsed.
pub fn clearable<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<Option<Option<T>>, Invalid> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(raw) => parse(raw).map(|value| Some(Some(value))),
    }
}

/// Which of two alternative fields was sent, with its raw value.
pub enum Either<'a> {
    First(&'a str),
    Second(&'a str),
}

/// Exactly one of two alternative fields (login's `email` or `phone`): the one sent, or a
/// 422 naming both when both or neither are.
pub fn either<'a>(
    (first, a): (&'static str, Option<&'a str>),
    (second, b): (&'static str, Option<&'a str>),
) -> Result<Either<'a>, AppError> {
    let both = |message: String| {
        AppError::Validation(vec![
            FieldError::new(first, message.clone()),
            FieldError::new(second, message),
        ])
    };
    match (a, b) {
        (Some(a), None) => Ok(Either::First(a)),
        (None, Some(b)) => Ok(Either::Second(b)),
        (Some(_), Some(_)) => Err(both(format!("send {first} or {second}, not both"))),
        (None, None) => Err(both(format!("send {first} or {second}"))),
    }
}

macro_rules! fields_tuple {
    ($($value:ident: $type:ident),+) => {
        impl<$($type),+> Fields for ($((&'static str, Result<$type, Invalid>),)+) {
            type Values = ($($type,)+);

            fn check(self) -> Result<Self::Values, AppError> {
                let mut errors = Vec::new();
                let ($($value,)+) = self;
                let ($($value,)+) = ($(match $value {
                    (_, Ok(value)) => Some(value),
                    (name, Err(invalid)) => {
                        errors.push(FieldError::new(name, invalid.message()));
                        None
                    }
                },)+);
                match ($($value,)+) {
                    ($(Some($value),)+) => Ok(($($value,)+)),
                    _ => Err(AppError::Validation(errors)),
                }
            }
        }
    };
}

fields_tuple!(a: A);
fields_tuple!(a: A, b: B);
fields_tuple!(a: A, b: B, c: C);
fields_tuple!(a: A, b: B, c: C, d: D);
fields_tuple!(a: A, b: B, c: C, d: D, e: E);
fields_tuple!(a: A, b: B, c: C, d: D, e: E, f: F);
fields_tuple!(a: A, b: B, c: C, d: D, e: E, f: F, g: G);
fields_tuple!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PersonName, Phone};

    fn details(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(fields) => {
                fields.into_iter().map(|f| (f.field, f.message)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_invalid_field_is_listed_in_the_order_of_the_fields() {
        let err = check((
            ("email", Email::parse("nope")),
            ("first_name", PersonName::parse("Nora")),
            ("last_name", PersonName::parse(" ")),
            ("phone", optional(Some("call me"), Phone::parse)),
        ))
        .unwrap_err();
        assert_eq!(
            details(err),
            [
                ("email".into(), "not a valid address".into()),
                (
                    "last_name".into(),
                    "must be 1 to 100 characters, without control characters".into()
                ),
                (
                    "phone".into(),
                    Phone::parse("call me").unwrap_err().message().into()
                ),
            ]
        );
    }

    #[test]
    fn valid_fields_come_back_as_their_types() {
        let (email, name, phone) = check((
            ("email", Email::parse("Nora@Example.com")),
            ("first_name", PersonName::parse(" Nora ")),
            ("phone", optional(Some("+1 312 555 0100"), Phone::parse)),
        ))
        .unwrap();
        assert_eq!(
            (
                email.as_str(),
                name.as_str(),
                phone.as_ref().map(Phone::as_str)
            ),
            ("nora@example.com", "Nora", Some("+13125550100"))
        );
    }

    #[test]
    fn one_field_alone_is_named_too() {
        assert_eq!(
            one("contact_email", Email::parse("a@b.co"))
                .unwrap()
                .as_str(),
            "a@b.co"
        );
        assert_eq!(
            details(one("username", Email::parse("x")).unwrap_err()),
            [("username".into(), "not a valid address".into())]
        );
    }

    #[test]
    fn blank_is_absent_in_optional_fields_and_clears_clearable_ones() {
        assert_eq!(optional(None, Phone::parse), Ok(None));
        assert_eq!(optional(Some("  "), Phone::parse), Ok(None));
        assert!(optional(Some("x"), Phone::parse).is_err());
        assert_eq!(clearable(None, Phone::parse), Ok(None));
        assert_eq!(clearable(Some(""), Phone::parse), Ok(Some(None)));
        assert_eq!(
            clearable(Some(" +13125550100 "), Phone::parse)
                .unwrap()
                .flatten()
                .map(Phone::into_inner),
            Some("+13125550100".to_owned())
        );
    }
}
