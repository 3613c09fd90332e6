//! When an unused membership is dormant and deactivated, and how long before its holder is
//! told: [`AccountSettings`] (`[accounts]`).

use serde::{Deserialize, Serialize};

use super::Profile;

/// The prod default of `dormant_after_days` (FTC Safeguards Rule reviews are at least yearly;
/// 90 days is the common reading of "periodically" for unused access).
pub const PROD_DORMANT_AFTER_DAYS: u32 = 90;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    /// Days without a sign-in, refresh or switch after which a membership is deactivated by
    /// the maintenance task; 0 = never. Absent: 90 in prod, off in dev (demo logins idle for
    /// weeks between a developer's sessions, and a dev database must not lock them out).
    /// A dealership may override it (`dealerships.dormant_after_days`).
    pub dormant_after_days: Option<u32>,
    /// Days before the deactivation that its holder is mailed a notice (once).
    pub dormant_notice_days: u32,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            dormant_after_days: None,
            dormant_notice_days: 14,
        }
    }
}

impl AccountSettings {
    /// What is refused in every profile: a notice that would come before the account was ever
    /// in use, or not at all.
    pub fn problem(&self, profile: Profile) -> Option<&'static str> {
        let after = self.dormant_after_days(profile);
        (after > 0 && self.dormant_notice_days >= after).then_some(
            "accounts.dormant_notice_days must be fewer than accounts.dormant_after_days",
        )
    }

    /// The days after which an unused membership is dormant in `profile` (0 = off).
    pub fn dormant_after_days(&self, profile: Profile) -> u32 {
        self.dormant_after_days.unwrap_or(match profile {
            Profile::Prod => PROD_DORMANT_AFTER_DAYS,
            Profile::Dev => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prod_deactivates_after_ninety_days_and_dev_never_unless_told() {
        let absent = AccountSettings::default();
        assert_eq!(absent.dormant_after_days(Profile::Prod), 90);
        assert_eq!(absent.dormant_after_days(Profile::Dev), 0);
        let off = AccountSettings {
            dormant_after_days: Some(0),
            ..absent
        };
        assert_eq!(off.dormant_after_days(Profile::Prod), 0);
    }
}
