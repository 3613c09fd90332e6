//! Validated input types: parsed once at the edge, trusted everywhere after. A parse failure is
//! an [`Invalid`] that names no field; `http::fields` names it.

mod email;
mod invalid;
mod name;
mod password;
mod phone;
mod role;
mod role_name;
mod sign_in_name;
pub mod text;

pub use email::Email;
pub use invalid::Invalid;
pub use name::{ClientName, DealershipName, PersonName, ServiceAccountName};
pub use password::NewPassword;
pub use phone::Phone;
pub use role::Role;
pub use role_name::{CustomRoleName, RoleName};
pub use sign_in_name::SignInName;
