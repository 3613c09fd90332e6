//! spawn_app(): a fresh database cloned from a migrated, seeded template, and the real server on
//! port 0 connected the way production connects — as a NOINHERIT login role that owns nothing
//! and is only a member of the runtime roles.

pub mod fault_proxy;
pub mod probes;

use std::{
    io::Write,
    net::{SocketAddr, ToSocketAddrs},
    path::Path,
    process::{Command, Output, Stdio},
    sync::Arc,
    time::Duration,
};

use dealergate::{
    config::{AuthSettings, DatabaseSettings, HttpSettings, Profile, Secret, Settings},
    service::seed,
    startup::Application,
    state::AppState,
    tenancy::{Database, Scope},
};
use migration::{Migrator, MigratorTrait, PLATFORM_ROLE, RUNTIME_ROLE};
use reqwest::Url;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::oneshot;
use uuid::{Uuid, uuid};

pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The test login role: LOGIN NOINHERIT, member of the runtime roles, owner of nothing.
pub const LOGIN_ROLE: &str = "dealergate_test_login";
const LOGIN_PASSWORD: &str = "test-login-password-7c1e";

pub const PREMIUM_AUTO: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000001");
pub const METRO_MOTORS: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000002");

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
    let data = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")).expect("seed files");
    let tx = db
        .begin(Scope::Platform)
        .await
        .expect("platform transaction");
    seed::apply(&tx, &data).await.expect("seed the template");
    tx.commit().await.expect("commit seed");
    db.close().await.expect("close");

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

pub struct TestApp {
    pub address: String,
    /// The operators' listener: metrics and the detailed readiness report.
    pub ops_address: String,
    pub client: reqwest::Client,
    /// Shared with replicas of this app; dropped with the last of them.
    pub db: Arc<TestDb>,
    /// The running server's shared state.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The settings a test server starts from: dev profile, port 0, the test database as the
/// login role.
pub fn test_settings(db: &TestDb) -> Settings {
    let (signing_pem, _) = dealergate::auth::keys::generate_pem().expect("key pair");
    Settings {
        profile: Profile::Dev,
        listen: "127.0.0.1:0".parse().expect("address"),
        http: HttpSettings {
            ops_listen: Some("127.0.0.1:0".parse().expect("address")),
            ..HttpSettings::default()
        },
        database: database_settings(db.login_url(), 5),
        auth: AuthSettings {
            // configured like production, so replicas of a test app trust each other's tokens
            signing_key: Some(Secret::new(signing_pem)),
            refresh_token_secret: Some(Secret::new(Uuid::new_v4().simple().to_string())),
            ..AuthSettings::default()
        },
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = Arc::new(TestDb::new().await);
    let mut settings = test_settings(&db);
    configure(&mut settings);
    start_with(db, settings).await
}

pub async fn start_with(db: Arc<TestDb>, settings: Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let port = app.port();
    let ops_port = app.ops_port().unwrap_or(0);
    let state = app.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ops_address: format!("http://127.0.0.1:{ops_port}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        db,
        state,
        stop: Some(stop),
        server: Some(server),
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

/// A test server whose every database connection, the LISTEN one included, goes through a
/// [`fault_proxy::FaultProxy`] the test can break.
pub async fn spawn_app_behind_proxy(
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, fault_proxy::FaultProxy) {
    let db = Arc::new(TestDb::new().await);
    let proxy = fault_proxy::FaultProxy::start(server_addr()).await;
    let mut settings = test_settings(&db);
    settings.database.url = Secret::new(url_via(&db.login_url(), proxy.addr()));
    configure(&mut settings);
    (start_with(db, settings).await, proxy)
}

impl TestApp {
    /// A replica on the same database with settings changed by `configure` (for example
    /// connected directly while this one goes through a proxy).
    pub async fn spawn_replica_with(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.state.settings.clone();
        configure(&mut settings);
        start_with(self.db.clone(), settings).await
    }

    /// The server task is still running (it has neither stopped nor panicked).
    pub fn is_serving(&self) -> bool {
        self.server.as_ref().is_some_and(|s| !s.is_finished())
    }
}

impl TestApp {
    /// A second server on the same database, as another replica would be.
    pub async fn spawn_replica(&self) -> TestApp {
        let settings = self.state.settings.clone();
        start_with(self.db.clone(), settings).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A GET on the operators' listener.
    pub async fn ops(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.ops_address))
            .send()
            .await
            .expect("request sent")
    }

    /// Sends the stop signal and waits for the server to drain and exit.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The JSON error body's `error` object, asserting the shape of api.md on the way.
pub async fn error_of(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let header_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Request-Id on every response");
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    let error = body["error"].clone();
    assert!(error["type"].is_string(), "error.type in {body}");
    assert!(error["message"].is_string(), "error.message in {body}");
    assert_eq!(
        error["request_id"],
        header_id.as_str(),
        "request_id matches the header"
    );
    error
}

/// A demo user of `seed/demo.toml`.
pub struct Demo {
    pub email: &'static str,
    pub password: &'static str,
    pub role: &'static str,
    pub dealership: Option<Uuid>,
}

pub const ADMIN: Demo = Demo {
    email: "admin@example.com",
    password: "Admin123!@#",
    role: "admin",
    dealership: None,
};
pub const PA_PRINCIPAL: Demo = Demo {
    email: "principal@premiumauto.com",
    password: "Principal123!",
    role: "principal",
    dealership: Some(PREMIUM_AUTO),
};
pub const PA_AGENT: Demo = Demo {
    email: "agent@premiumauto.com",
    password: "Agent123!",
    role: "agent",
    dealership: Some(PREMIUM_AUTO),
};
pub const DEMO_USERS: [Demo; 7] = [
    ADMIN,
    PA_PRINCIPAL,
    Demo {
        email: "manager@premiumauto.com",
        password: "Manager123!",
        role: "manager",
        dealership: Some(PREMIUM_AUTO),
    },
    PA_AGENT,
    Demo {
        email: "principal@metromotors.com",
        password: "Principal123!",
        role: "principal",
        dealership: Some(METRO_MOTORS),
    },
    Demo {
        email: "manager@metromotors.com",
        password: "Manager123!",
        role: "manager",
        dealership: Some(METRO_MOTORS),
    },
    Demo {
        email: "agent@metromotors.com",
        password: "Agent123!",
        role: "agent",
        dealership: Some(METRO_MOTORS),
    },
];

/// What a successful login or refresh returned.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: serde_json::Value,
}

impl Tokens {
    async fn from_response(resp: reqwest::Response) -> Self {
        assert_eq!(resp.status(), 200, "tokens issued");
        let body: serde_json::Value = resp.json().await.expect("token JSON");
        Self {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body,
        }
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Tokens {
        Tokens::from_response(self.login(email, password).await).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": refresh_token}),
        )
        .await
    }

    pub async fn refresh_ok(&self, refresh_token: &str) -> Tokens {
        Tokens::from_response(self.refresh(refresh_token).await).await
    }

    /// A request with `Authorization: Bearer <token>`.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::POST, path, token)
            .send()
            .await
            .expect("request sent")
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

/// Runs the `dealergate` binary as an operator would: in the repository, with only the
/// settings given in `env` (none inherited), and `stdin` as its standard input.
pub fn dealergate(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dealergate"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("DEALERGATE_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
