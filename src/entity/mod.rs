//! What is stored: SeaORM entities, one per table. Request and response DTOs live in `http`.

pub mod audit_event;
pub mod custom_role;
pub mod dealership;
pub mod invitation;
pub mod session;
pub mod user;
