//! The roles and their rank: admin > group_principal > principal > group_manager > manager >
//! agent. The two group roles are held in a dealer group (across its dealerships), never in one
//! dealership.

use std::{fmt, str::FromStr};

use poem_openapi::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Stored as text (`memberships.role`, constrained by a CHECK to these values; a group role only
/// on a group membership, every other role only off one).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Enum,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// Platform: every dealership.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Runs every dealership of a dealer group as their principal would.
    #[serde(rename = "group_principal")]
    #[oai(rename = "group_principal")]
    #[sea_orm(string_value = "group_principal")]
    GroupPrincipal,
    /// Manages the staff and profile of one dealership.
    #[sea_orm(string_value = "principal")]
    Principal,
    /// Reads the staff list of one dealership.
    /// Reads the staff of every dealership of a dealer group.
    #[serde(rename = "group_manager")]
    #[oai(rename = "group_manager")]
    #[sea_orm(string_value = "group_manager")]
    GroupManager,
    #[sea_orm(string_value = "manager")]
    Manager,
    /// Own profile and sessions.
    #[sea_orm(string_value = "agent")]
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::GroupPrincipal => "group_principal",
            Role::Principal => "principal",
            Role::GroupManager => "group_manager",
            Role::Manager => "manager",
            Role::Agent => "agent",
        }
    }

    /// Held in a dealer group, across its dealerships (never in one dealership).
    pub fn is_group(self) -> bool {
        matches!(self, Role::GroupPrincipal | Role::GroupManager)
    }

    /// Higher outranks lower; nobody acts on a rank above their own.
    pub fn rank(self) -> u8 {
        match self {
            Role::Admin => 6,
            Role::GroupPrincipal => 5,
            Role::Principal => 4,
            Role::GroupManager => 3,
            Role::Manager => 2,
            Role::Agent => 1,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "group_principal" => Ok(Role::GroupPrincipal),
            "group_manager" => Ok(Role::GroupManager),
            "principal" => Ok(Role::Principal),
            "manager" => Ok(Role::Manager),
            "agent" => Ok(Role::Agent),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_rank_in_order() {
        for role in <Role as sea_orm::Iterable>::iter() {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(Role::Admin.rank() > Role::GroupPrincipal.rank());
        assert!(Role::GroupPrincipal.rank() > Role::Principal.rank());
        assert!(Role::Principal.rank() > Role::GroupManager.rank());
        assert!(Role::GroupManager.rank() > Role::Manager.rank());
        assert!(Role::Manager.rank() > Role::Agent.rank());
        assert!("root".parse::<Role>().is_err());
        assert!(Role::GroupPrincipal.is_group() && Role::GroupManager.is_group());
        assert!(!Role::Principal.is_group() && !Role::Admin.is_group());
    }
}
