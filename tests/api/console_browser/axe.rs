//! axe-core (the npm package pinned in `tests/browser/package.json`, installed by
//! `npm ci --prefix tests/browser`) injected into the page through WebDriver and run there.
//! A serious or critical violation fails the test, printed with the elements it found; every
//! page checked is recorded in `target/axe-report.json` (one JSON object a line: the page,
//! the test, the violations counted by impact, and their rule ids).

use std::{collections::BTreeMap, io::Write, path::PathBuf, sync::OnceLock};

use serde_json::{Value, json};

use super::Browser;

const RUN: &str = r#"
const done = arguments[arguments.length - 1];
window.axe
  .run(document, { resultTypes: ["violations"] })
  .then((r) => done({ violations: r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  })) }))
  .catch((e) => done({ error: String(e) }));
"#;

fn source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `npm ci --prefix tests/browser` (tests/run.sh does it)",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the browser's current page, records it as `page`, and fails on serious
/// or critical violations.
pub async fn check(browser: &Browser, page: &str) {
    let loaded = browser
        .client
        .execute(&format!("{}\n;return typeof window.axe;", source()), vec![])
        .await
        .expect("axe-core is injected");
    assert_eq!(loaded, json!("object"), "axe-core did not load on {page}");
    let result = browser
        .client
        .execute_async(RUN, vec![])
        .await
        .expect("axe-core runs");
    if let Some(error) = result.get("error") {
        panic!("axe-core failed on {page}: {error}");
    }
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    record(page, &browser.path().await, &violations);
    let grave: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    if !grave.is_empty() {
        let listed = grave
            .iter()
            .map(|v| {
                format!(
                    "- {} ({}): {}\n    at {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    v["targets"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        panic!("axe-core: serious or critical violations on {page}:\n{listed}");
    }
}

/// One line of `target/axe-report.json` for `page`.
fn record(page: &str, path: &str, violations: &[Value]) {
    let mut by_impact: BTreeMap<&str, usize> = ["minor", "moderate", "serious", "critical"]
        .into_iter()
        .map(|i| (i, 0))
        .collect();
    for v in violations {
        *by_impact
            .entry(v["impact"].as_str().unwrap_or("unknown"))
            .or_default() += 1;
    }
    let line = json!({
        "page": page,
        "path": path.split('?').next().unwrap_or(path),
        "test": std::thread::current().name().unwrap_or("?"),
        "violations": by_impact,
        "rules": violations.iter().map(|v| format!("{} ({})",
            v["id"].as_str().unwrap_or("?"), v["impact"].as_str().unwrap_or("?"))).collect::<Vec<_>>(),
        "at": crate::helpers::mfa::unix_now(),
    });
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&target);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target.join("axe-report.json"));
    if let Ok(mut file) = file {
        // one write a line: the test processes append side by side
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}
