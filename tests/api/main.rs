//! One integration-test binary: the real server on port 0 against a real PostgreSQL database
//! per test (see `helpers`).

mod auth_flows;
mod cli;
mod hashing;
mod health;
mod helpers;
mod http_contract;
mod isolation;
mod lockout;
mod logs;
mod migrations;
mod posture;
mod refresh;
mod revocation;
mod tokens;
