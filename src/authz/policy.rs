//! One loaded policy: the Casbin enforcer plus its rows and content hash, checked before use.
//!
//! casbin's file loader accepts malformed rows and then every `enforce` errors, so a policy is
//! only accepted after its rows are checked against the code's names and `tests.csv` passes.

use std::{path::Path, sync::Arc};

use casbin::{CoreApi, DefaultModel, Enforcer, FileAdapter};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use moka::sync::Cache;

use super::{Action, Decision, Reach, Resource, Subject, custom::CustomRole};
use crate::domain::Role;

pub struct Policy {
    pub(super) enforcer: Enforcer,
    /// This policy's decisions, dropped with it.
    pub(super) decisions: Cache<Decision, bool>,
    /// The file policy's rows (custom roles are in `roles`).
    pub rows: Vec<Vec<String>>,
    pub(super) model_text: String,
    /// The custom roles merged in ([`Policy::with_roles`]); none for the files alone.
    pub roles: Arc<Vec<CustomRole>>,
    /// Of the files: a custom role does not change it.
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
}

const FILES: [&str; 3] = ["model.conf", "policy.csv", "tests.csv"];

impl Policy {
    /// The same policy, its decisions cached up to `decisions` entries (`cache.policy_decisions`).
    pub(super) fn bounded(mut self, decisions: u64) -> Self {
        self.decisions = Cache::builder().max_capacity(decisions).build();
        self
    }

    /// Reads and checks `dir`; every reason it is unusable, or the policy.
    pub async fn load(dir: &Path) -> Result<Self, Vec<String>> {
        let mut texts = Vec::new();
        for file in FILES {
            let path = dir.join(file);
            match tokio::fs::read_to_string(&path).await {
                Ok(text) => texts.push(text),
                Err(e) => return Err(vec![format!("{}: {e}", path.display())]),
            }
        }
        let (model_text, policy_text, tests_text) = (&texts[0], &texts[1], &texts[2]);
        let rows = csv_rows(policy_text);
        let mut reasons = check_rows(&rows);

        let model = DefaultModel::from_str(model_text)
            .await
            .map_err(|e| vec![format!("model.conf: {e}")])?;
        let enforcer = Enforcer::new(model, FileAdapter::new(dir.join("policy.csv")))
            .await
            .map_err(|e| vec![format!("policy.csv: {e}")])?;
        let policy = Self {
            enforcer,
            decisions: Cache::builder().max_capacity(10_000).build(),
            rows,
            model_text: model_text.clone(),
            roles: Arc::default(),
            hash: hex(&Sha256::digest(texts.concat())),
            loaded_at: Utc::now(),
        };
        // ~1,000 decisions: a second of CPU in a debug build (28 µs each in release), which
        // must not stall the runtime's other tasks (a reload runs beside live connections)
        let tests = tests_text.clone();
        let (policy, failed) = tokio::task::spawn_blocking(move || {
            let failed = policy.run_tests(&tests);
            (policy, failed)
        })
        .await
        .map_err(|e| vec![format!("tests.csv: the check did not finish: {e}")])?;
        reasons.extend(failed);
        if reasons.is_empty() {
            Ok(policy)
        } else {
            Err(reasons)
        }
    }

    /// The enforcer's answer; an enforcement error is a deny (and logged).
    pub fn decide(
        &self,
        subject: Subject,
        resource: Resource,
        action: Action,
        reach: Reach,
    ) -> bool {
        self.ask(
            &subject.name(),
            resource.as_str(),
            action.as_str(),
            reach.as_str(),
        )
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "policy enforcement failed; denying");
            false
        })
    }

    fn ask(&self, role: &str, resource: &str, action: &str, reach: &str) -> Result<bool, String> {
        self.enforcer
            .enforce((role, resource, action, reach))
            .map_err(|e| e.to_string())
    }

    /// Each `tests.csv` row the policy decides otherwise, as a reason.
    pub(super) fn run_tests(&self, tests: &str) -> Vec<String> {
        let mut reasons = Vec::new();
        for (line, row) in csv_lines(tests) {
            let [role, resource, action, reach, expected] = row.as_slice() else {
                reasons.push(format!(
                    "tests.csv line {line}: expected role, resource, action, scope, allow|deny"
                ));
                continue;
            };
            let expected = match expected.as_str() {
                "allow" => true,
                "deny" => false,
                other => {
                    reasons.push(format!(
                        "tests.csv line {line}: {other:?} is neither allow nor deny"
                    ));
                    continue;
                }
            };
            match self.ask(role, resource, action, reach) {
                Ok(decided) if decided == expected => {}
                Ok(decided) => reasons.push(format!(
                    "tests.csv line {line}: {role}, {resource}, {action}, {reach} is {} but must be {}",
                    verdict(decided),
                    verdict(expected)
                )),
                Err(e) => reasons.push(format!("tests.csv line {line}: enforcement failed: {e}")),
            }
        }
        reasons
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed { "allowed" } else { "denied" }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Non-empty, non-comment lines split on commas, with their line numbers.
pub(super) fn csv_lines(text: &str) -> Vec<(usize, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i + 1, l.split(',').map(|f| f.trim().to_owned()).collect()))
        .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv_lines(text).into_iter().map(|(_, row)| row).collect()
}

/// Every row names known roles, resources, actions and scopes, with the right arity.
fn check_rows(rows: &[Vec<String>]) -> Vec<String> {
    let mut reasons = Vec::new();
    let role = |name: &str| name.parse::<Role>().is_ok();
    for row in rows {
        let shown = row.join(", ");
        match row.as_slice() {
            [kind, r, res, act, reach] if kind == "p" => {
                if !role(r) {
                    reasons.push(format!("policy.csv: unknown role {r:?} in `{shown}`"));
                }
                if Resource::parse(res).is_none() {
                    reasons.push(format!("policy.csv: unknown resource {res:?} in `{shown}`"));
                }
                if Action::parse(act).is_none() {
                    reasons.push(format!("policy.csv: unknown action {act:?} in `{shown}`"));
                }
                if Reach::parse(reach).is_none() {
                    reasons.push(format!("policy.csv: unknown scope {reach:?} in `{shown}`"));
                }
            }
            [kind, a, b] if kind == "g" => {
                for r in [a, b] {
                    if !role(r) {
                        reasons.push(format!("policy.csv: unknown role {r:?} in `{shown}`"));
                    }
                }
            }
            _ => reasons.push(format!(
                "policy.csv: malformed row `{shown}` (p has 5 fields, g has 3)"
            )),
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::check_dir;

    fn policies() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
    }

    #[tokio::test]
    async fn the_shipped_policy_loads_and_passes_its_tests() {
        let reasons = check_dir(&policies()).await;
        assert!(reasons.is_empty(), "{reasons:#?}");
    }

    #[tokio::test]
    async fn the_policy_and_the_code_name_the_same_resources_and_actions() {
        let policy = Policy::load(&policies()).await.unwrap();
        let named: std::collections::HashSet<(String, String)> = policy
            .rows
            .iter()
            .filter(|r| r[0] == "p")
            .map(|r| (r[2].clone(), r[3].clone()))
            .collect();
        // every pair the API asks about (see the handlers' **Permissions**) is in some row
        for (resource, actions) in [
            (
                Resource::Users,
                &[
                    Action::List,
                    Action::Read,
                    Action::Create,
                    Action::Update,
                    Action::Delete,
                ][..],
            ),
            (
                Resource::Dealerships,
                &[
                    Action::List,
                    Action::Read,
                    Action::Create,
                    Action::Update,
                    Action::Delete,
                ],
            ),
            (Resource::Sessions, &[Action::List, Action::Delete]),
            (Resource::AuditEvents, &[Action::List]),
            (Resource::Policies, &[Action::Read, Action::Update]),
            (
                Resource::Invitations,
                &[Action::List, Action::Create, Action::Update, Action::Delete],
            ),
            (Resource::Roles, Action::ALL),
        ] {
            for action in actions {
                let pair = (resource.as_str().to_owned(), action.as_str().to_owned());
                assert!(named.contains(&pair), "no policy row for {pair:?}");
            }
        }
        for resource in Resource::ALL {
            assert!(
                named.iter().any(|(r, _)| r == resource.as_str()),
                "{resource:?} unused"
            );
        }
    }

    #[test]
    fn unknown_names_and_malformed_rows_are_reasons() {
        let rows =
            csv_rows("p, agent, users, read, self\np, intern, cars, drive, any\ng, agent\nx, y");
        let reasons = check_rows(&rows);
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert!(reasons.iter().any(|r| r.contains("\"intern\"")));
        assert!(reasons.iter().any(|r| r.contains("\"cars\"")));
        assert!(reasons.iter().any(|r| r.contains("\"drive\"")));
    }
}
