//! Stand-alone migration CLI (`cargo run -p migration -- up`); `dealergate migrate` does the same.

#![forbid(unsafe_code)]

use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
