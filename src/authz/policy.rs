//! One loaded policy: the Casbin enforcer plus its rows and content hash, checked before use.
//!
//! casbin's file loader accepts malformed rows and then every `enforce` errors, so a policy is
//! only accepted after its rows are checked against the code's names and `tests.csv` passes.

use std::path::Path;

use casbin::{CoreApi, DefaultModel, Enforcer, FileAdapter};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use moka::sync::Cache;
use sea_orm::Iterable;

use super::{Action, Decision, Reach, Resource};
use crate::domain::Role;

pub struct Policy {
    enforcer: Enforcer,
    /// This policy's decisions, dropped with it.
    pub(super) decisions: Cache<Decision, bool>,
    pub rows: Vec<Vec<String>>,
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
}

const FILES: [&str; 3] = ["model.conf", "policy.csv", "tests.csv"];

impl Policy {
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
            hash: hex(&Sha256::digest(texts.concat())),
            loaded_at: Utc::now(),
        };
        reasons.extend(policy.run_tests(tests_text));
        if reasons.is_empty() {
            Ok(policy)
        } else {
            Err(reasons)
        }
    }

    /// The enforcer's answer; an enforcement error is a deny (and logged).
    pub fn decide(&self, role: Role, resource: Resource, action: Action, reach: Reach) -> bool {
        self.ask(
            role.as_str(),
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
    fn run_tests(&self, tests: &str) -> Vec<String> {
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
fn csv_lines(text: &str) -> Vec<(usize, Vec<String>)> {
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

/// `dealergate policies check DIR`: every reason the folder would be refused, and every way its
/// `tests.csv` falls short of stating the whole policy (see [`check_coverage`]).
pub async fn check_dir(dir: &Path) -> Vec<String> {
    let mut reasons = match Policy::load(dir).await {
        Ok(_) => Vec::new(),
        Err(reasons) => reasons,
    };
    let model = tokio::fs::read_to_string(dir.join("model.conf")).await;
    let tests = tokio::fs::read_to_string(dir.join("tests.csv")).await;
    // an unreadable file is a reason already
    if let (Ok(model), Ok(tests)) = (model, tests) {
        reasons.extend(check_coverage(&model, &tests));
    }
    reasons
}

/// What the code asks the policy, in the model's order.
const REQUEST: [&str; 4] = ["role", "resource", "action", "scope"];

/// The request fields `model.conf` defines (`r = sub, obj, act, scope`), if it defines them.
fn request_fields(model: &str) -> Option<usize> {
    let mut in_section = false;
    for line in model.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[request_definition]";
        } else if in_section
            && let Some((key, fields)) = line.split_once('=')
            && key.trim() == "r"
        {
            return Some(fields.split(',').count());
        }
    }
    None
}

/// `tests.csv` as a statement of the whole policy: the model asks what the code asks; every
/// row names a known role, resource, action and scope (a misspelt `agnet` would pass a `deny`
/// row without testing anything); and every (role, resource, action, scope) there is, is
/// decided by some row — an empty file decides nothing and fails.
fn check_coverage(model: &str, tests: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    match request_fields(model) {
        Some(n) if n == REQUEST.len() => {}
        found => reasons.push(format!(
            "model.conf: the request must have {} fields ({}), found {found:?}",
            REQUEST.len(),
            REQUEST.join(", ")
        )),
    }
    let rows = csv_lines(tests);
    if rows.is_empty() {
        reasons.push("tests.csv: no rows; every decision of the policy must be stated".into());
    }
    let mut decided = std::collections::HashSet::new();
    for (line, row) in &rows {
        let [role, resource, action, reach, _] = row.as_slice() else {
            continue; // the wrong arity is reported with the test run
        };
        let parsed = (
            role.parse::<Role>().ok(),
            Resource::parse(resource),
            Action::parse(action),
            Reach::parse(reach),
        );
        for (known, kind, name) in [
            (parsed.0.is_some(), "role", role),
            (parsed.1.is_some(), "resource", resource),
            (parsed.2.is_some(), "action", action),
            (parsed.3.is_some(), "scope", reach),
        ] {
            if !known {
                reasons.push(format!("tests.csv line {line}: unknown {kind} {name:?}"));
            }
        }
        if let (Some(role), Some(resource), Some(action), Some(reach)) = parsed {
            decided.insert((role, resource, action, reach));
        }
    }
    for role in Role::iter() {
        for &resource in Resource::ALL {
            for &action in Action::ALL {
                for &reach in Reach::ALL {
                    if !decided.contains(&(role, resource, action, reach)) {
                        reasons.push(format!(
                            "tests.csv: no row decides {}, {}, {}, {}",
                            role.as_str(),
                            resource.as_str(),
                            action.as_str(),
                            reach.as_str()
                        ));
                    }
                }
            }
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn shipped(file: &str) -> String {
        std::fs::read_to_string(policies().join(file)).unwrap()
    }

    #[test]
    fn the_shipped_tests_decide_every_combination_with_known_names() {
        let reasons = check_coverage(&shipped("model.conf"), &shipped("tests.csv"));
        assert!(reasons.is_empty(), "{reasons:#?}");
    }

    #[test]
    fn a_misspelt_name_in_tests_csv_is_a_reason() {
        let tests = shipped("tests.csv").replace(
            "agent, users, list, self, deny",
            "agnet, users, list, self, deny",
        );
        let reasons = check_coverage(&shipped("model.conf"), &tests);
        assert_eq!(reasons.len(), 2, "{reasons:#?}");
        assert!(
            reasons[0].ends_with(": unknown role \"agnet\""),
            "{reasons:#?}"
        );
        assert_eq!(
            reasons[1],
            "tests.csv: no row decides agent, users, list, self"
        );
    }

    #[test]
    fn an_empty_tests_csv_decides_nothing_and_every_combination_is_named() {
        let reasons = check_coverage(&shipped("model.conf"), "# nothing yet\n");
        let missing = reasons
            .iter()
            .filter(|r| r.contains("no row decides"))
            .count();
        assert_eq!(missing, 4 * 6 * 5 * 3, "{reasons:#?}");
        assert!(
            reasons.iter().any(|r| r.contains("no rows")),
            "{reasons:#?}"
        );
    }

    #[test]
    fn a_model_asking_other_fields_is_a_reason() {
        let model = shipped("model.conf").replace("r = sub, obj, act, scope", "r = sub, obj, act");
        let reasons = check_coverage(&model, &shipped("tests.csv"));
        assert_eq!(reasons.len(), 1, "{reasons:#?}");
        assert!(reasons[0].starts_with("model.conf: the request must have 4 fields"));
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
