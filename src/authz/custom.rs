//! Custom roles: a dealership's own named roles, merged into the enforcer next to the file
//! policy. Each is a Casbin subject `custom:<id>` that inherits its base role (`g`) and holds
//! its own permissions (`p`), only ever at `self` or `dealership` scope: a dealership's role
//! acts within that dealership. The file policy alone is what `policies check` validates.

use std::{borrow::Cow, sync::Arc};

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use moka::sync::Cache;
use uuid::Uuid;

use super::{Action, Reach, Resource, policy::Policy};
use crate::domain::Role;

/// Who asks the policy: a built-in role, or a custom role (which inherits its base role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Role(Role),
    Custom(Uuid),
}

impl Subject {
    /// The subject's name in the enforcer.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Subject::Role(role) => Cow::Borrowed(role.as_str()),
            Subject::Custom(id) => Cow::Owned(format!("custom:{id}")),
        }
    }
}

/// One permission: an action on a resource at a scope (`users:update:dealership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub resource: Resource,
    pub action: Action,
    pub reach: Reach,
}

impl Permission {
    /// `resource:action:scope`, as stored.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let permission = Self {
            resource: Resource::parse(parts.next()?)?,
            action: Action::parse(parts.next()?)?,
            reach: Reach::parse(parts.next()?)?,
        };
        parts.next().is_none().then_some(permission)
    }

    pub fn stored(self) -> String {
        format!(
            "{}:{}:{}",
            self.resource.as_str(),
            self.action.as_str(),
            self.reach.as_str()
        )
    }

    /// What a dealership's role may hold: nothing at platform (`any`) or group scope.
    pub fn fits_a_dealership(self) -> bool {
        self.reach <= Reach::Dealership
    }
}

/// A custom role as the enforcer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    pub id: Uuid,
    pub dealership_id: Uuid,
    pub name: String,
    pub base: Role,
    pub permissions: Vec<Permission>,
}

impl CustomRole {
    /// Its rows in the enforcer: one `g` to the base role, one `p` per permission (none at
    /// `any` scope, whatever the database holds).
    fn rules(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let subject = Subject::Custom(self.id).name().into_owned();
        let grouping = vec![subject.clone(), self.base.as_str().to_owned()];
        let policies = self
            .permissions
            .iter()
            .filter(|p| p.fits_a_dealership())
            .map(|p| {
                vec![
                    subject.clone(),
                    p.resource.as_str().to_owned(),
                    p.action.as_str().to_owned(),
                    p.reach.as_str().to_owned(),
                ]
            })
            .collect();
        (grouping, policies)
    }
}

impl Policy {
    /// This file policy with `roles` merged in: a new enforcer (and an empty decision cache)
    /// of the same model and file rows plus each role's rows.
    pub async fn with_roles(&self, roles: Vec<CustomRole>) -> Result<Policy, String> {
        let model = DefaultModel::from_str(&self.model_text)
            .await
            .map_err(|e| format!("model.conf: {e}"))?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut policies = Vec::new();
        let mut groupings = Vec::new();
        for row in &self.rows {
            match row.split_first() {
                Some((kind, rest)) if kind == "p" => policies.push(rest.to_vec()),
                Some((kind, rest)) if kind == "g" => groupings.push(rest.to_vec()),
                _ => {}
            }
        }
        for role in &roles {
            let (grouping, rules) = role.rules();
            groupings.push(grouping);
            policies.extend(rules);
        }
        policies.dedup();
        for rule in policies {
            enforcer.add_policy(rule).await.map_err(|e| e.to_string())?;
        }
        for rule in groupings {
            enforcer
                .add_grouping_policy(rule)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(Policy {
            enforcer,
            decisions: Cache::builder()
                .max_capacity(self.decisions.policy().max_capacity().unwrap_or(10_000))
                .build(),
            rows: self.rows.clone(),
            model_text: self.model_text.clone(),
            roles: Arc::new(roles),
            hash: self.hash.clone(),
            loaded_at: self.loaded_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip_and_refuse_anything_else() {
        let p = Permission::parse("users:update:dealership").unwrap();
        assert_eq!(p.stored(), "users:update:dealership");
        for bad in [
            "",
            "users",
            "users:update",
            "users:update:dealership:x",
            "cars:drive:self",
            "users:fly:self",
            "users:read:planet",
        ] {
            assert_eq!(Permission::parse(bad), None, "{bad:?}");
        }
        assert!(
            !Permission::parse("users:read:any")
                .unwrap()
                .fits_a_dealership()
        );
    }

    fn shipped(file: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(file)
    }

    /// Each row of `policies/custom_roles.csv` as (its role, its question, the answer).
    fn decision_rows() -> Vec<(CustomRole, Permission, bool, usize)> {
        let text = std::fs::read_to_string(shipped("custom_roles.csv")).unwrap();
        let mut rows = Vec::new();
        for (line, fields) in super::super::policy::csv_lines(&text) {
            let [base, held, resource, action, reach, expected] = fields.as_slice() else {
                panic!("custom_roles.csv line {line}: 6 fields expected");
            };
            let role = CustomRole {
                id: Uuid::now_v7(),
                dealership_id: Uuid::now_v7(),
                name: format!("line-{line}"),
                base: base.parse().unwrap(),
                // the database may hold anything: `any` rows are kept here, dropped by `rules`
                permissions: held
                    .split_whitespace()
                    .map(|p| Permission::parse(p).unwrap_or_else(|| panic!("line {line}: {p}")))
                    .collect(),
            };
            let asked = Permission::parse(&format!("{resource}:{action}:{reach}"))
                .unwrap_or_else(|| panic!("line {line}: unknown names"));
            rows.push((role, asked, expected == "allow", line));
        }
        rows
    }

    #[tokio::test]
    async fn custom_roles_decide_as_custom_roles_csv_says_and_leave_the_built_in_roles_alone() {
        let files = Policy::load(&shipped("")).await.unwrap();
        let rows = decision_rows();
        assert!(rows.len() >= 25, "{} rows", rows.len());
        let roles: Vec<CustomRole> = rows.iter().map(|r| r.0.clone()).collect();
        let merged = files.with_roles(roles).await.unwrap();
        for (role, asked, expected, line) in &rows {
            let decided = merged.decide(
                Subject::Custom(role.id),
                asked.resource,
                asked.action,
                asked.reach,
            );
            assert_eq!(decided, *expected, "custom_roles.csv line {line}");
        }
        // the merged policy still passes the files' own tests
        let tests = std::fs::read_to_string(shipped("tests.csv")).unwrap();
        assert_eq!(merged.run_tests(&tests), Vec::<String>::new());
        // an unknown custom role may do nothing, not even what agents may
        let stranger = Subject::Custom(Uuid::now_v7());
        assert!(!merged.decide(stranger, Resource::Users, Action::Read, Reach::Own));
    }
}
