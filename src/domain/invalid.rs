//! Why an input was refused, in words a client can show. It names no field: the same type is a
//! body's `phone` or a dealership's `contact_phone`, and `http::fields` says which.

/// A parse failure of a domain type; its message is what the 422 `details` entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    message: &'static str,
}

impl Invalid {
    pub const fn new(message: &'static str) -> Self {
        Self { message }
    }

    pub fn message(&self) -> &'static str {
        self.message
    }
}
