//! The databases under test: the cluster's URL, a migrated and seeded template built once per
//! code version, the NOINHERIT login role production's connections use, and a fresh clone of
//! the template per test ([`TestDb`]).

use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::Path,
    time::Duration,
};

use dealergate::{
    config::{DatabaseSettings, Secret},
    testing::{Database, Scope, seed},
};
use migration::{Migrator, MigratorTrait, PLATFORM_ROLE, RUNTIME_ROLE};
use reqwest::Url;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The test login role: LOGIN NOINHERIT, member of the runtime roles, owner of nothing.
pub const LOGIN_ROLE: &str = "dealergate_test_login";
const LOGIN_PASSWORD: &str = "test-login-password-7c1e";

/// The superuser URL of the cluster (`DATABASE_URL`, or the local default).
fn server_url() -> Url {
    let raw = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());
    let mut url = Url::parse(&raw).expect("DATABASE_URL is a URL");
    if !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url
}

fn url_for(database: &str, login: Option<(&str, &str)>) -> String {
    let mut url = server_url();
    url.set_path(&format!("/{database}"));
    if let Some((user, password)) = login {
        url.set_username(user).expect("URL takes a user");
        url.set_password(Some(password))
            .expect("URL takes a password");
    }
    url.to_string()
}

/// One connection, so session-level things (advisory locks) stay on it.
pub async fn connect_single(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).sqlx_logging(false);
    sea_orm::Database::connect(options)
        .await
        .expect("connect to PostgreSQL")
}

pub async fn exec(conn: &impl ConnectionTrait, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The template's name changes whenever a migration or seed file does, so a stale template is
/// never cloned.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = ["migration/src", "seed"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("source folder"))
        .map(|entry| entry.expect("folder entry").path())
        .collect();
    files.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    for file in files {
        std::fs::read(&file)
            .expect("readable file")
            .hash(&mut hasher);
    }
    format!("dealergate_tpl_{:016x}", hasher.finish())
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Builds the template once per cluster and code version. Test processes run in parallel, so
/// the build is serialised by an advisory lock on the `postgres` database.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let admin = connect_single(server_url().as_ref()).await;
            exec(
                &admin,
                "SELECT pg_advisory_lock(hashtext('dealergate-test-template'))",
            )
            .await;
            if !database_exists(&admin, &name).await {
                build_template(&admin, &name).await;
            }
            ensure_login_role(&admin).await;
            exec(
                &admin,
                "SELECT pg_advisory_unlock(hashtext('dealergate-test-template'))",
            )
            .await;
            admin.close().await.expect("close");
            name
        })
        .await
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> bool {
    admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .expect("query pg_database")
        .is_some()
}

async fn build_template(admin: &DatabaseConnection, name: &str) {
    // templates of other code versions are left alone: a checkout of another branch may be
    // testing with one at this moment (each is a few megabytes)
    let wip = format!("{name}_wip");
    exec(admin, &format!("CREATE DATABASE \"{wip}\"")).await;

    let owner = connect_single(&url_for(&wip, None)).await;
    Migrator::up(&owner, None)
        .await
        .expect("migrate the template");
    owner.close().await.expect("close");

    let db = Database::connect(&database_settings(url_for(&wip, None), 1))
        .await
        .expect("connect to the template");
    let mut data =
        seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")).expect("seed files");
    // the demo admin signs in with the password alone here: tests enrol the apps they need
    data.users.iter_mut().for_each(|u| u.totp_secret = None);
    let tx = db
        .begin(Scope::Platform)
        .await
        .expect("platform transaction");
    seed::apply(&tx, &data, &dealergate::testing::SecretBox::development())
        .await
        .expect("seed the template");
    tx.commit().await.expect("commit seed");
    db.close().await.expect("close");
    // the tests' own database, not a demo one: prod-profile tests serve it (tests/api/dev.rs
    // makes demo databases of its own)
    let owner = connect_single(&url_for(&wip, None)).await;
    exec(&owner, "DELETE FROM demo_seed").await;
    owner.close().await.expect("close");

    exec(
        admin,
        &format!("ALTER DATABASE \"{wip}\" RENAME TO \"{name}\""),
    )
    .await;
}

async fn ensure_login_role(admin: &DatabaseConnection) {
    exec(
        admin,
        &format!(
            "DO $$ BEGIN
               CREATE ROLE {LOGIN_ROLE} LOGIN NOINHERIT PASSWORD '{LOGIN_PASSWORD}';
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
             END $$;
             ALTER ROLE {LOGIN_ROLE} PASSWORD '{LOGIN_PASSWORD}';
             GRANT {RUNTIME_ROLE}, {PLATFORM_ROLE} TO {LOGIN_ROLE};"
        ),
    )
    .await;
}

pub fn database_settings(url: String, max_connections: u32) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url),
        max_connections,
        min_connections: 0,
        ..DatabaseSettings::default()
    }
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let template = template().await;
        let name = format!("dealergate_test_{}", Uuid::new_v4().simple());
        let admin = connect_single(server_url().as_ref()).await;
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        // a clone fails while another session is still leaving the template: try again
        for attempt in 1.. {
            match admin.execute_unprepared(&sql).await {
                Ok(_) => break,
                Err(e) if attempt < 20 && e.to_string().contains("being accessed") => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("{sql}: {e}"),
            }
        }
        admin.close().await.expect("close");
        Self { name }
    }

    /// As the login role production uses.
    pub fn login_url(&self) -> String {
        url_for(&self.name, Some((LOGIN_ROLE, LOGIN_PASSWORD)))
    }

    /// As the superuser that owns the schema (for sabotage and for checking what was stored).
    pub fn owner_url(&self) -> String {
        url_for(&self.name, None)
    }

    pub async fn owner(&self) -> DatabaseConnection {
        connect_single(&self.owner_url()).await
    }

    /// A pool as the login role, through which only tenant transactions reach data.
    pub async fn login_pool(&self, max_connections: u32) -> Database {
        Database::connect(&database_settings(self.login_url(), max_connections))
            .await
            .expect("connect as the login role")
    }

    /// Drops the database now, connections and all (the server's pool included).
    pub async fn drop_now(&self) {
        drop_database(&self.name).await;
    }
}

async fn drop_database(name: &str) {
    let admin = connect_single(server_url().as_ref()).await;
    exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
    admin.close().await.expect("close");
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a thread with its own runtime can.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_database(&name))
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// The `n` column of a one-row query.
pub async fn count(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("one row")
        .try_get::<i64>("", "n")
        .expect("column n")
}

/// Polls `sql`'s `n` until it is `expected` (work a request leaves for after its answer),
/// for at most ten seconds; the last value otherwise, in the failure.
pub async fn wait_for_count(conn: &impl ConnectionTrait, sql: &str, expected: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = count(conn, sql).await;
        if n == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{sql}: {n} after 10 s, expected {expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// PostgreSQL's address, for a proxy to forward to.
pub fn server_addr() -> SocketAddr {
    let url = server_url();
    let host = url.host_str().expect("DATABASE_URL names a host");
    (host, url.port().unwrap_or(5432))
        .to_socket_addrs()
        .expect("resolve the database host")
        .next()
        .expect("an address for the database host")
}

/// `url` with its host and port replaced by `addr`.
pub fn url_via(url: &str, addr: SocketAddr) -> String {
    let mut url = Url::parse(url).expect("a database URL");
    url.set_ip_host(addr.ip()).expect("URL takes an IP host");
    url.set_port(Some(addr.port())).expect("URL takes a port");
    url.to_string()
}
