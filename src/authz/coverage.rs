//! `dealergate policies check DIR`: the folder loads, and its `tests.csv` states the whole
//! policy — every (role, resource, action, scope) decided, with names the code knows.

use std::path::Path;

use sea_orm::Iterable;

use super::{
    Action, Reach, Resource,
    policy::{Policy, csv_lines},
};
use crate::domain::Role;

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
        assert_eq!(missing, 6 * 12 * 5 * 4, "{reasons:#?}");
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
}
