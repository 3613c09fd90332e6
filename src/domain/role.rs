//! The four roles and their rank: admin > principal > manager > agent.

use std::{fmt, str::FromStr};

use poem_openapi::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Stored as text (`users.role`, constrained by a CHECK to these four values).
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
    /// Manages the staff and profile of one dealership.
    #[sea_orm(string_value = "principal")]
    Principal,
    /// Reads the staff list of one dealership.
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
            Role::Principal => "principal",
            Role::Manager => "manager",
            Role::Agent => "agent",
        }
    }

    /// Higher outranks lower; nobody acts on a rank above their own.
    pub fn rank(self) -> u8 {
        match self {
            Role::Admin => 4,
            Role::Principal => 3,
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
        for role in [Role::Admin, Role::Principal, Role::Manager, Role::Agent] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(Role::Admin.rank() > Role::Principal.rank());
        assert!(Role::Principal.rank() > Role::Manager.rank());
        assert!(Role::Manager.rank() > Role::Agent.rank());
        assert!("root".parse::<Role>().is_err());
    }
}
