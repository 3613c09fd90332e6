//! Which tenant: the request's [`Scope`] and the only way request code reaches tenant tables,
//! [`TenantTx`] — a transaction running as a runtime role with its dealerships set
//! (`app.dealership_ids`, which RLS matches tenant rows against).

mod database;
pub mod posture;

pub use database::{
    Database, ENTER_SCOPE, ENTER_SET, Row, TenantTx, connect_options, split_password,
};
pub use migration::{PLATFORM_ROLE, RUNTIME_ROLE};
use uuid::Uuid;

/// The dealerships of the current transaction, as RLS reads them (once per statement): one,
/// or a group's. For a query's explicit condition in a group's transaction, where the
/// application does not hold the set (the database computed it as the transaction opened).
pub const SCOPE_DEALERSHIPS: &str =
    "((select nullif(current_setting('app.dealership_ids', true), '')::uuid[])::uuid[])";

/// `column` is one of the transaction's dealerships: the explicit condition of a group-wide
/// query (an `Expr` for SeaORM).
pub fn in_scope_dealerships(column: &str) -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::Expr::cust(format!("{column} = ANY {SCOPE_DEALERSHIPS}"))
}

/// Whose rows a transaction may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One dealership's rows only (RLS on `app.dealership_ids`, a set of this one).
    Dealership(Uuid),
    /// The rows of every live dealership of a dealer group (the set is read from the database
    /// as the transaction opens, so a dealership moved out of the group is out of it at once),
    /// and the group membership's own rows (`app.group_id`).
    Group(Uuid),
    /// Every dealership's rows: system admins and platform jobs, as the platform role.
    Platform,
    /// No tenant yet (login, refresh): the runtime role sees no tenant rows, only the
    /// `SECURITY DEFINER` lookups.
    Anonymous,
}

impl Scope {
    /// The database role, the dealership and the group this scope runs with: the parameters
    /// of [`ENTER_SCOPE`] (empty: none).
    pub fn role_and_tenant(self) -> (&'static str, String, String) {
        match self {
            Scope::Dealership(id) => (RUNTIME_ROLE, id.to_string(), String::new()),
            Scope::Group(id) => (RUNTIME_ROLE, String::new(), id.to_string()),
            Scope::Platform => (PLATFORM_ROLE, String::new(), String::new()),
            Scope::Anonymous => (RUNTIME_ROLE, String::new(), String::new()),
        }
    }
}
