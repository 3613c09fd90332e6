//! A real PgBouncer (Debian's `pgbouncer`) in transaction pooling mode between the server under
//! test and PostgreSQL, as operators with many replicas run it: [`PgBouncer::start`].
//!
//! Its ini and user list live in a folder of their own under the temp dir, removed with the
//! process when the value drops. It listens on a free port of 127.0.0.1 and authenticates
//! clients with md5 against the test login role's password, which it also uses towards
//! PostgreSQL. The pool is small on purpose, so that the server's pooled connections take
//! turns on the same few server connections: whatever a connection leaves behind on a server
//! connection (a prepared statement, a setting) meets another client there.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::Url;
use uuid::Uuid;

use super::db::{server_addr, url_via};

/// Where Debian puts it; otherwise the first `pgbouncer` on `PATH`.
const DEBIAN_BINARY: &str = "/usr/sbin/pgbouncer";

/// Server connections per (database, user) pair: fewer than the app's pool, so they are shared.
pub const SERVER_POOL_SIZE: u32 = 2;

pub struct PgBouncer {
    addr: SocketAddr,
    dir: PathBuf,
    child: Child,
}

impl PgBouncer {
    /// Starts PgBouncer in front of the cluster for the user and password of `login_url`
    /// (a URL of the test cluster, as [`TestDb::login_url`](super::TestDb::login_url) gives).
    ///
    /// Panics with what to do when the binary is missing: these tests never skip.
    pub async fn start(login_url: &str) -> Self {
        let binary = binary().unwrap_or_else(|| {
            panic!(
                "pgbouncer is not installed (looked for {DEBIAN_BINARY} and on PATH): the \
                 PgBouncer tests need Debian's pgbouncer (`apt-get install -y pgbouncer`; \
                 .ci/run installs it)"
            )
        });
        let url = Url::parse(login_url).expect("a database URL");
        let user = url.username().to_owned();
        let password = url.password().unwrap_or_default().to_owned();
        let upstream = server_addr();

        let dir = std::env::temp_dir().join(format!("dealergate-pgbouncer-{}", Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("create the PgBouncer folder");
        let port = free_port();
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host={host} port={upstream_port}\n\
                 \n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 pool_mode = transaction\n\
                 auth_type = md5\n\
                 auth_file = {userlist}\n\
                 default_pool_size = {SERVER_POOL_SIZE}\n\
                 min_pool_size = 0\n\
                 reserve_pool_size = 0\n\
                 max_client_conn = 200\n\
                 server_tls_sslmode = disable\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 pidfile =\n\
                 logfile =\n\
                 log_connections = 0\n\
                 log_disconnections = 0\n\
                 admin_users =\n",
                host = upstream.ip(),
                upstream_port = upstream.port(),
                userlist = dir.join("userlist.txt").display(),
            ),
        )
        .expect("write pgbouncer.ini");
        std::fs::write(
            dir.join("userlist.txt"),
            format!("\"{user}\" \"{password}\"\n"),
        )
        .expect("write userlist.txt");
        make_readable(&dir);

        let mut command = Command::new(&binary);
        // PgBouncer refuses to run as root (CI runs as root): it switches to postgres itself
        if is_root() {
            command.args(["-u", "postgres"]);
        }
        // its log goes to stderr (logfile is empty): to a file, so a full pipe never blocks it
        let log = std::fs::File::create(dir.join("pgbouncer.log")).expect("create the log");
        let child = command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let mut bouncer = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            child,
        };
        bouncer.wait_until_listening().await;
        bouncer
    }

    /// `url` (a URL of the test cluster) through PgBouncer.
    pub fn url_for(&self, url: &str) -> String {
        url_via(url, self.addr)
    }

    /// What PgBouncer has logged so far (warnings, refused logins), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("pgbouncer's status") {
                panic!("pgbouncer exited at start ({status}): {}", self.log());
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen on {} within 10 s",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> Option<PathBuf> {
    let debian = Path::new(DEBIAN_BINARY);
    if debian.is_file() {
        return Some(debian.to_owned());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("pgbouncer"))
            .find(|candidate| candidate.is_file())
    })
}

/// A port nobody listens on now (the OS picks it; PgBouncer binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port()
}

fn is_root() -> bool {
    // the owner of /proc/self is the process's effective user
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// PgBouncer may run as another user (postgres): it must read its folder.
fn make_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let set = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .expect("set permissions")
    };
    set(dir, 0o755);
    for entry in std::fs::read_dir(dir).expect("PgBouncer folder") {
        set(&entry.expect("folder entry").path(), 0o644);
    }
}
