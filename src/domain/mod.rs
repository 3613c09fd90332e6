//! Validated input types: parsed once at the edge, trusted everywhere after.

mod email;
mod password;
mod role;
pub mod text;

pub use email::Email;
pub use password::NewPassword;
pub use role::Role;
