//! How long audit events are kept: [`AuditSettings`] (`[audit]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Days an audit event is kept before the maintenance task purges it; `0` (the default)
    /// keeps every event: the log is append-only except for this purge.
    pub retention_days: u32,
}
