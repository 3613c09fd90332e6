//! `dealergate`: one binary, subcommands in `cli`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use dealergate::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "dealergate failed");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
