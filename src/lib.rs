//! dealergate: identity, sessions, users, dealerships and roles for dealership platforms, with
//! every dealership's data kept apart by PostgreSQL row-level security.
//!
//! The modules are declared in the order a request meets them: configuration and start-up,
//! then the HTTP surface, then token → session → policy → request scope → tenant transaction →
//! service → table, then what runs beside requests. `ARCHITECTURE.md` walks one request.

#![forbid(unsafe_code)]

/// What is configured: figment layers into one typed tree; secrets redacted.
pub mod config;

/// Logs: text in dev, JSON in prod.
pub(crate) mod telemetry;

/// Build the application (connect, check isolation, bind) and run it.
pub mod startup;

/// What every handler shares within one replica.
pub mod state;

/// The HTTP surface: routes, middleware, the bearer scheme, the one error mapping.
pub(crate) mod http;

/// The console in the browser: the same services as pages, at `/console`.
pub(crate) mod console;

/// Single sign-on for the platform's apps: the OpenID provider at `/oauth2/*`.
pub(crate) mod oidc;

/// Who are you: tokens, passwords, the session-liveness cache, throttling.
pub(crate) mod auth;

/// May you: the Casbin policy, its decision cache and hot reload.
pub(crate) mod authz;

/// What this request may touch: the granted reach and its tenant transaction.
pub(crate) mod scope;

/// Which tenant: the RLS transaction type and the isolation posture check.
pub(crate) mod tenancy;

/// What happens: sign-in, accounts, users, dealerships, sessions, audit, over a request scope.
pub(crate) mod service;

/// Validated input types: Email, NewPassword, Role, names and phones.
pub mod domain;

/// What is stored: SeaORM entities.
pub(crate) mod entity;

/// The one list of failure kinds.
pub mod error;

/// Mail: templates, the transactional outbox and the sender on every replica.
pub(crate) mod mail;

/// Outbound webhooks: Standard Webhooks signatures, the SSRF guard, the guarded client.
pub(crate) mod webhooks;

/// What the other replicas say: revocations and policy reloads over LISTEN/NOTIFY.
pub(crate) mod cluster;

/// What is measured: Prometheus metrics.
pub(crate) mod metrics;

/// The command line: serve, migrate, seed, admin, policies, openapi.
pub mod cli;

/// What the integration tests reach beyond the HTTP API and the command line: the tenant
/// transaction and the seed (to build their databases), keys, and a few internals they observe.
/// Not an interface to build on.
#[doc(hidden)]
pub mod testing {
    pub use crate::auth::{
        jwt::AccessClaims, keys::generate_pem, mfa::SecretBox, refresh_token::MAX_REPLAY_WALK,
    };
    pub use crate::mail::{Compose, Context, Kind, outbox};
    pub use crate::oidc::keys::{IdAlg, generate_pem as generate_id_pem};
    pub use crate::service::{dormant, seed, webhooks::outbox as webhook_outbox};
    pub use crate::tenancy::{Database, ENTER_SCOPE, ENTER_SET, Scope, TenantTx, posture};
}
