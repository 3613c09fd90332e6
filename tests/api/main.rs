//! One integration-test binary: the real server on port 0 against a real PostgreSQL database
//! per test (see `helpers`).

mod cli;
mod health;
mod helpers;
mod http_contract;
mod isolation;
mod migrations;
mod posture;
