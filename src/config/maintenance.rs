//! How often expired rows are purged, and how long ended sessions and sent mail are kept:
//! [`MaintenanceSettings`] (`[maintenance]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSettings {
    /// Seconds between purges of expired login counters and long-ended sessions (0 = never).
    pub purge_interval_secs: u64,
    /// Rows deleted per statement; a purge repeats batches until a batch comes back short.
    pub purge_batch_size: u32,
    /// Seconds an expired or revoked session is kept (for investigations) before it is purged.
    pub session_retention_secs: u64,
    /// Seconds a sent or given-up message, and an ended or expired mailed token, is kept.
    pub mail_retention_secs: u64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            purge_interval_secs: 300,
            purge_batch_size: 1000,
            session_retention_secs: 24 * 3600,
            mail_retention_secs: 7 * 24 * 3600,
        }
    }
}
