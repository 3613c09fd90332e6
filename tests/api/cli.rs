//! The `dealergate` binary's subcommands, run as a user would run them.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestDb, dealergate, spawn_app, stdout};

#[tokio::test]
async fn openapi_prints_the_document_the_server_serves() {
    let app = spawn_app().await;
    let out = dealergate(&["openapi"], &[], None);
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(printed, served);
}

#[test]
fn config_prints_the_effective_settings_with_secrets_redacted() {
    let out = dealergate(
        &["config"],
        &[
            (
                "DATABASE_URL",
                "postgres://app:s3cret-pw@db.internal/dealergate",
            ),
            ("DEALERGATE_LISTEN", "0.0.0.0:9999"),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("listen = \"0.0.0.0:9999\""), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[tokio::test]
async fn seed_is_refused_in_prod_and_changes_nothing_when_repeated() {
    let db = TestDb::new().await;
    let url = db.owner_url();
    let prod = [
        ("DEALERGATE_PROFILE", "prod"),
        ("DATABASE_URL", url.as_str()),
        (
            "DEALERGATE_AUTH__SIGNING_KEY_FILE",
            "/run/secrets/signing.pem",
        ),
        (
            "DEALERGATE_AUTH__REFRESH_TOKEN_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
        // the base64 of the bytes 1..=32
        (
            "DEALERGATE_AUTH__MFA__ENCRYPTION_KEY",
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        ),
    ];
    let refused = dealergate(&["seed"], &prod, None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused in the prod profile"), "{stderr}");

    let owner = db.owner().await;
    let snapshot = "SELECT string_agg(id::text || updated_at::text, ',' ORDER BY id) AS s FROM \
                    (SELECT id, updated_at FROM users UNION ALL SELECT id, updated_at FROM dealerships) t";
    let before = owner
        .query_one_raw(Statement::from_string(DbBackend::Postgres, snapshot))
        .await
        .unwrap()
        .unwrap();
    for _ in 0..2 {
        let out = dealergate(&["seed"], &[("DATABASE_URL", &url)], None);
        assert!(out.status.success(), "{out:?}");
    }
    let after = owner
        .query_one_raw(Statement::from_string(DbBackend::Postgres, snapshot))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        before.try_get::<String>("", "s").unwrap(),
        after.try_get::<String>("", "s").unwrap()
    );
}

#[tokio::test]
async fn migrate_status_lists_every_migration_as_applied() {
    let db = TestDb::new().await;
    let out = dealergate(
        &["migrate", "status"],
        &[("DATABASE_URL", &db.owner_url())],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("Applied  m20261122_000001_create_tenant_tables"),
        "{text}"
    );
    assert!(
        text.contains("Applied  m20261122_000002_enforce_row_level_security"),
        "{text}"
    );
    assert!(!text.contains("Pending"), "{text}");
}

#[test]
fn policies_check_passes_the_shipped_policy_and_names_each_failing_row() {
    let ok = dealergate(&["policies", "check"], &[], None);
    assert!(ok.status.success(), "{ok:?}");
    let dir = std::env::temp_dir().join(format!("dg-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    std::fs::copy(shipped.join("model.conf"), dir.join("model.conf")).unwrap();
    let policy = std::fs::read_to_string(shipped.join("policy.csv"))
        .unwrap()
        .replace("p, manager, users, list, dealership\n", "");
    std::fs::write(dir.join("policy.csv"), policy).unwrap();
    std::fs::copy(shipped.join("tests.csv"), dir.join("tests.csv")).unwrap();
    let failed = dealergate(&["policies", "check", dir.to_str().unwrap()], &[], None);
    assert!(!failed.status.success());
    let text = stdout(&failed);
    assert!(text.contains("FAIL tests.csv line"), "{text}");
    assert!(
        text.contains("manager, users, list, dealership is denied but must be allowed"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A copy of the shipped policy folder with `tests.csv` replaced by what `edit` makes of it;
/// what `policies check` prints for it, and whether it passed.
fn check_with_tests(edit: impl FnOnce(String) -> String) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("dg-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for file in ["model.conf", "policy.csv"] {
        std::fs::copy(shipped.join(file), dir.join(file)).unwrap();
    }
    let tests = std::fs::read_to_string(shipped.join("tests.csv")).unwrap();
    std::fs::write(dir.join("tests.csv"), edit(tests)).unwrap();
    let out = dealergate(&["policies", "check", dir.to_str().unwrap()], &[], None);
    std::fs::remove_dir_all(dir).unwrap();
    (out.status.success(), stdout(&out))
}

#[test]
fn policies_check_fails_a_tests_row_with_a_misspelt_role() {
    // a row the policy denies for a role that does not exist: it "passed" without testing
    let (passed, text) = check_with_tests(|t| {
        t.replace(
            "agent, users, list, dealership, deny",
            "agnet, users, list, dealership, deny",
        )
    });
    assert!(!passed, "{text}");
    assert!(text.contains("unknown role \"agnet\""), "{text}");
    assert!(
        text.contains("FAIL tests.csv: no row decides agent, users, list, dealership"),
        "{text}"
    );
}

#[test]
fn policies_check_fails_an_empty_tests_file() {
    let (passed, text) =
        check_with_tests(|_| "# role, resource, action, scope, allow|deny\n".into());
    assert!(!passed, "{text}");
    assert!(text.contains("FAIL tests.csv: no rows"), "{text}");
    let missing = text
        .lines()
        .filter(|l| l.starts_with("FAIL tests.csv: no row decides "))
        .count();
    assert_eq!(missing, 6 * 12 * 5 * 4, "each combination is named: {text}");
}

#[test]
fn policies_check_names_each_combination_no_tests_row_decides() {
    let (passed, text) = check_with_tests(|t| {
        t.replace("\nprincipal, users, delete, dealership, allow\n", "\n")
            .replace("admin, policies, update, any, allow\n", "")
    });
    assert!(!passed, "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(
        fails,
        [
            "FAIL tests.csv: no row decides admin, policies, update, any",
            "FAIL tests.csv: no row decides principal, users, delete, dealership",
        ],
        "{text}"
    );
}
