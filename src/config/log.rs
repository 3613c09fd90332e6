//! How logs look: text or JSON, and at which level — [`LogSettings`] (`[log]`).

use serde::{Deserialize, Serialize};

use super::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`; by default text in `dev` and JSON in `prod`.
    pub format: Option<LogFormat>,
    /// A `tracing` filter such as `info` or `dealergate=debug,info`; `RUST_LOG` overrides it.
    pub level: Option<String>,
}

impl LogSettings {
    pub fn format_for(&self, profile: Profile) -> LogFormat {
        self.format.unwrap_or(match profile {
            Profile::Dev => LogFormat::Text,
            Profile::Prod => LogFormat::Json,
        })
    }
}
