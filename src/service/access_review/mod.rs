//! Access review (FTC Safeguards Rule 314.4(c)(1)): who has access within the caller's reach
//! (their dealership, their group's dealerships and group, or the platform), with what, since
//! when, granted by whom, and whether they use a second factor or their access at all.
//!
//! An entry comes from a source: people's memberships ([`people`]) and service accounts
//! ([`machines`], `kind = "service_account"`), chained in [`list`].

pub mod completions;
pub mod coverage;
pub mod export;
mod machines;
mod people;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{error::AppError, scope::RequestScope, state::AppState};

/// One principal with access: a person's membership or a service account (whose name is
/// `first_name`; it has no email and no second factor).
#[derive(Debug, Clone)]
pub struct Entry {
    /// `person` (a membership) or `service_account`.
    pub kind: &'static str,
    /// The membership (the `/users/{id}` id), or the service account.
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub dealership_id: Option<Uuid>,
    pub dealership: Option<String>,
    pub group_id: Option<Uuid>,
    /// The built-in role (a custom role's base).
    pub role: String,
    pub custom_role: Option<String>,
    /// A custom role's permissions (`resource:action:scope`); none for a built-in role.
    pub permissions: Vec<String>,
    pub is_active: bool,
    pub second_factor: bool,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub last_active_at: DateTime<Utc>,
    /// When the maintenance task will deactivate it as dormant, if dormancy is on for it.
    pub dormant_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by_id: Option<Uuid>,
    /// The creator's email, where the caller's reach shows them (not a platform admin's to a
    /// dealership).
    pub created_by: Option<String>,
    pub role_changed_at: Option<DateTime<Utc>>,
    pub role_changed_by_id: Option<Uuid>,
    pub role_changed_by: Option<String>,
}

/// Why an entry needs a reviewer's attention, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attention {
    NoSecondFactor,
    DormantSoon,
    AdminLevel,
}

impl Attention {
    pub fn as_str(self) -> &'static str {
        match self {
            Attention::NoSecondFactor => "no_second_factor",
            Attention::DormantSoon => "dormant_soon",
            Attention::AdminLevel => "admin_level",
        }
    }
}

impl Entry {
    /// What a reviewer should look at, for an active entry: no second factor, deactivation
    /// within `notice_days`, a role that manages others.
    pub fn attention(&self, notice_days: u32) -> Vec<Attention> {
        let mut why = Vec::new();
        if !self.is_active {
            return why;
        }
        // a machine proves itself with its key: no second factor to ask of it
        if !self.second_factor && self.kind == "person" {
            why.push(Attention::NoSecondFactor);
        }
        let soon = Utc::now() + Duration::days(i64::from(notice_days));
        if self.dormant_at.is_some_and(|at| at <= soon) {
            why.push(Attention::DormantSoon);
        }
        if matches!(
            self.role.as_str(),
            "admin" | "group_principal" | "principal"
        ) {
            why.push(Attention::AdminLevel);
        }
        why
    }
}

/// Every principal with access in the caller's reach (RLS confines the rows), by dealership
/// and name.
pub async fn list(state: &AppState, scope: &RequestScope) -> Result<Vec<Entry>, AppError> {
    let settings = &state.settings;
    let dormant_after = settings.accounts.dormant_after_days(settings.profile);
    let notice = settings.accounts.dormant_notice_days;
    let mut entries = people::entries(scope, dormant_after, notice).await?;
    entries.extend(machines::entries(scope, dormant_after).await?);
    Ok(entries)
}
