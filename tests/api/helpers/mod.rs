//! The test harness. [`spawn_app`]: a fresh database cloned from a migrated, seeded template,
//! and the real server on port 0 connected the way production connects — as a NOINHERIT login
//! role that owns nothing and is only a member of the runtime roles.
//!
//! - [`db`]: the cluster, the template, the login role, [`TestDb`], raw SQL helpers
//! - [`app`]: [`spawn_app`], [`TestApp`] and its request methods
//! - [`fixtures`]: the demo dealerships and users of `seed/demo.toml`
//! - [`assertions`]: the error body ([`error_of`])
//! - [`lists`]: list requests as case tables ([`check_cases`])
//! - [`cli`]: running the binary
//! - [`fault_proxy`]: a TCP proxy between the server and PostgreSQL that tests can break
//! - [`smtp`]: a real SMTP server that keeps what it receives
//! - [`console`]: the browser console's pages, read and posted as a browser would
//! - [`mfa`]: an authenticator app: enrols, and computes codes from the enrolled secret

mod app;
mod assertions;
mod cli;
pub mod console;
mod db;
pub mod fault_proxy;
mod fixtures;
mod lists;
pub mod mfa;
pub mod pgbouncer;
pub mod probes;
pub mod restore;
pub mod smtp;

pub use app::*;
pub use assertions::*;
pub use cli::*;
pub use db::*;
pub use fixtures::*;
pub use lists::*;
