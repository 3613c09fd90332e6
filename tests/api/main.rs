//! One integration-test binary: the real server on port 0 against a real PostgreSQL database
//! per test (see `helpers`).

mod audit_log;
mod auth_flows;
mod cli;
mod connections;
mod dealerships;
mod email_verification;
mod faults;
mod forwarded;
mod hashing;
mod headers;
mod health;
mod helpers;
mod hostile;
mod http_contract;
mod isolation;
mod isolation_matrix;
mod lockout;
mod logs;
mod mail;
mod mail_isolation;
mod mail_replicas;
mod migrations;
mod operations;
mod password_reset;
mod pgbouncer;
mod phone_sign_in;
mod policy_reload;
mod posture;
mod profile_cache;
mod purge;
mod refresh;
mod revocation;
mod takeover;
mod tokens;
mod users;
