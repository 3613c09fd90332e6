//! Where `dealergate seed` reads its demo data: [`SeedSettings`] (`[seed]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedSettings {
    /// The folder with the demo data files read by `dealergate seed`.
    pub dir: PathBuf,
}

impl Default for SeedSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("seed"),
        }
    }
}
