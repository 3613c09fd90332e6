//! Which tenant: the request's [`Scope`] and the only way request code reaches tenant tables,
//! [`TenantTx`] — a transaction running as a runtime role with `app.dealership_id` set.

mod database;
pub mod posture;

pub use database::{Database, ENTER_SCOPE, TenantTx, connect_options, split_password};
pub use migration::{PLATFORM_ROLE, RUNTIME_ROLE};
use uuid::Uuid;

/// Whose rows a transaction may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One dealership's rows only (RLS on `app.dealership_id`).
    Dealership(Uuid),
    /// Every dealership's rows: system admins and platform jobs, as the platform role.
    Platform,
    /// No tenant yet (login, refresh): the runtime role sees no tenant rows, only the
    /// `SECURITY DEFINER` lookups.
    Anonymous,
}

impl Scope {
    /// The database role and the `app.dealership_id` value this scope runs with.
    pub fn role_and_tenant(self) -> (&'static str, String) {
        match self {
            Scope::Dealership(id) => (RUNTIME_ROLE, id.to_string()),
            Scope::Platform => (PLATFORM_ROLE, String::new()),
            Scope::Anonymous => (RUNTIME_ROLE, String::new()),
        }
    }
}
