//! Where `dealergate seed` reads its demo data: [`SeedSettings`] (`[seed]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedSettings {
    /// The folder with the demo data files read by `dealergate seed`.
    pub dir: PathBuf,
    /// Whether demo users get the authenticator apps the seed files give them (the demo admin's
    /// documented one). Off for runs that sign in as the admin with the password alone (the
    /// contract run, the benchmarks, the test template).
    pub demo_factors: bool,
}

impl Default for SeedSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("seed"),
            demo_factors: true,
        }
    }
}
