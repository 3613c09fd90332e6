//! What happens: business rules over a tenant transaction; no HTTP types here.

pub mod seed;
