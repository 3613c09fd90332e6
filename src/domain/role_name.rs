//! A role as a request names it (`role` of a user or an invitation): one of the built-in roles,
//! or the name of a custom role of the dealership. A custom role's name is also validated here
//! when the role is defined: lowercase letters, digits, `_` and `-`, 2 to 40 characters,
//! starting with a letter, and never a built-in role's name (the database checks the same).

use super::{Invalid, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleName {
    Builtin(Role),
    Custom(CustomRoleName),
}

impl RoleName {
    /// A built-in role of a principal's rank or above (custom roles are below it).
    pub fn is_principal_or_above(&self) -> bool {
        matches!(self, RoleName::Builtin(r) if r.rank() >= Role::Principal.rank())
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.parse::<Role>() {
            Ok(role) => Ok(RoleName::Builtin(role)),
            Err(_) => CustomRoleName::parse(raw)
                .map(RoleName::Custom)
                .map_err(|_| {
                    Invalid::new(
                        "is neither admin, principal, manager, agent nor a custom role's name",
                    )
                }),
        }
    }
}

/// The name of a custom role, unique within its dealership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRoleName(String);

impl CustomRoleName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.parse::<Role>().is_ok() {
            return Err(Invalid::new("is a built-in role's name"));
        }
        let mut chars = raw.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            && (2..=40).contains(&raw.len());
        if !well_formed {
            return Err(Invalid::new(
                "must be 2 to 40 lowercase letters, digits, '_' or '-', starting with a letter",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_stay_built_in_and_custom_names_are_checked() {
        assert_eq!(
            RoleName::parse("manager").unwrap(),
            RoleName::Builtin(Role::Manager)
        );
        assert_eq!(
            RoleName::parse("finance-manager_2").unwrap(),
            RoleName::Custom(CustomRoleName("finance-manager_2".into()))
        );
        for bad in [
            "",
            "f",
            "Finance",
            "1st",
            "a b",
            "x'--",
            "é-role",
            &"a".repeat(41),
        ] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?}");
        }
        for shadow in ["admin", "principal", "manager", "agent"] {
            assert!(CustomRoleName::parse(shadow).is_err(), "{shadow}");
        }
    }
}
