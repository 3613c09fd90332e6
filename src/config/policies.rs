//! Where the authorization policy lives and whether it is watched: [`PolicySettings`]
//! (`[policies]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// The folder with `model.conf`, `policy.csv` and `tests.csv`.
    pub dir: PathBuf,
    /// Reload when the files change (SIGHUP and the reload endpoint work either way).
    pub watch: bool,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("policies"),
            watch: true,
        }
    }
}
