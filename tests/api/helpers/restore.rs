//! A database of an earlier release: a plain `pg_dump` of `tests/fixtures` restored with `psql`
//! into an empty database of its own (see `tests/fixtures/README.md`).

use std::{path::Path, process::Command};

use reqwest::Url;

use super::{TestDb, connect_single, exec};

/// A [`TestDb`] holding `tests/fixtures/{dump}` and nothing else, dropped when the test ends.
///
/// The dump's owners and grants name the runtime roles, and the server connects as the test
/// login role: making a [`TestDb`] first makes sure both exist in the cluster (it migrates the
/// template if no test has yet). Its clone is then replaced by an empty database of that name.
pub async fn restore(dump: &str) -> TestDb {
    let db = TestDb::new().await;
    let mut url = Url::parse(&db.owner_url()).expect("a database URL");
    url.set_path("/postgres");
    let admin = connect_single(url.as_str()).await;
    exec(
        &admin,
        &format!("DROP DATABASE \"{}\" WITH (FORCE)", db.name),
    )
    .await;
    exec(&admin, &format!("CREATE DATABASE \"{}\"", db.name)).await;
    admin.close().await.expect("close");

    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dump);
    let restored = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file)
        .args(["-d", &db.owner_url()])
        .output()
        .expect("psql runs (it must be on PATH)");
    assert!(
        restored.status.success(),
        "psql -f {}: {}",
        file.display(),
        String::from_utf8_lossy(&restored.stderr)
    );
    db
}
