//! dealergate: identity, sessions, users, dealerships and roles for dealership platforms, with
//! every dealership's data kept apart by PostgreSQL row-level security.
//!
//! The modules follow a request: token → session → tenant → policy → transaction → service → table.

#![forbid(unsafe_code)]

/// Who are you: passwords, tokens, sessions, revocation, throttling.
pub mod auth;
/// May you: the Casbin policy, its decision cache and hot reload.
pub mod authz;
/// The command line.
pub mod cli;
/// What the other replicas say: revocations and policy reloads over LISTEN/NOTIFY.
pub mod cluster;
/// What is configured: figment layers into one typed tree; secrets redacted.
pub mod config;
/// Validated input types: Email, NewPassword, Phone, PersonName, DealershipName, Role.
pub mod domain;
/// What is stored: SeaORM entities.
pub mod entity;
/// The one list of failure kinds.
pub mod error;
/// The HTTP surface: routes, middleware, the one error mapping.
pub mod http;
/// What is measured: Prometheus metrics.
pub mod metrics;
/// What happens: business rules over a tenant transaction.
pub mod service;
/// Build the application (connect, check isolation, bind) and run it.
pub mod startup;
/// What every handler shares.
pub mod state;
/// Logs: text in dev, JSON in prod.
pub mod telemetry;
/// Which tenant: the scope and the RLS transaction type, and the isolation posture check.
pub mod tenancy;
