//! The OpenID provider's rules: registered clients, authorization codes, consents, and the
//! grants that turn a code or a client's refresh token into tokens.

pub mod client;
pub mod codes;
pub mod consents;
pub mod grants;
pub mod registration;
pub mod registry;

pub use client::Client;
