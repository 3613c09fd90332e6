//! What is stored: SeaORM entities, one per table (`user` reads the `users` view: a membership with its person). Request and response DTOs live in `http`.

pub mod audit_event;
pub mod custom_role;
pub mod dealer_group;
pub mod dealership;
pub mod invitation;
pub mod membership;
pub mod oauth_client;
pub mod oauth_client_secret;
pub mod person;
pub mod service_account;
pub mod service_account_key;
pub mod session;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_event;
