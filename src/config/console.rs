//! The browser console at `/console`: its session cookie and idle timeout
//! ([`ConsoleSettings`], `[console]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Serve the console at `/console` (off: every console path is 404).
    pub enabled: bool,
    /// A console session with no request for this long must sign in again (its tokens are
    /// renewed at most a minute apart while it is used, so the last renewal dates the last use).
    pub idle_timeout_secs: u64,
    /// Mark the session cookie `Secure` and name it `__Host-dg_console`. Browsers treat
    /// `http://localhost` as secure, so only a plain-HTTP address other than localhost needs
    /// this off; `prod` refuses it off.
    pub secure_cookie: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            idle_timeout_secs: 30 * 60,
            secure_cookie: true,
        }
    }
}
