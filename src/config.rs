//! What is configured: figment layers → one typed [`Settings`] tree, secrets in [`Secret`].
//!
//! Layers, later wins: built-in defaults → optional `dealergate.toml` (`--config` or
//! `DEALERGATE_CONFIG`) → `DATABASE_URL` → `DEALERGATE_*` (with `__` for nesting, e.g.
//! `DEALERGATE_DATABASE__MAX_CONNECTIONS`). The profile comes from `DEALERGATE_PROFILE`.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::{Deserialize, Serialize, Serializer};

/// The database a fresh development machine has: the local cluster, trust auth, no TLS.
pub const DEV_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/dealergate?sslmode=disable";
const DEFAULT_CONFIG_FILE: &str = "dealergate.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Local development: migrates and seeds on `serve`, tolerates a superuser connection.
    #[default]
    Dev,
    /// Production: refuses insecure configuration and never changes the schema by itself.
    Prod,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub profile: Profile,
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub http: HttpSettings,
    #[serde(default)]
    pub auth: AuthSettings,
    #[serde(default)]
    pub policies: PolicySettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub seed: SeedSettings,
    #[serde(default)]
    pub maintenance: MaintenanceSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Production connects as a NOINHERIT login role that is a member of the runtime roles.
    pub url: Secret<String>,
    pub max_connections: u32,
    pub min_connections: u32,
    /// Seconds to wait for a free pooled connection before answering 503.
    pub acquire_timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// Server-side cap on any one statement, in seconds (0 = none).
    pub statement_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Request bodies above this many bytes are answered with 413.
    pub body_limit_bytes: usize,
    /// Seconds a client may take to send its request body before it is refused.
    pub body_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Seconds to keep serving, unready, after SIGTERM before closing the listener, so load
    /// balancers stop routing here first (Kubernetes: a few seconds).
    pub shutdown_delay_secs: u64,
    /// Browser origins allowed by CORS (`https://app.example.com`). Unset: the usual local
    /// dev-server ports in `dev`, none in `prod`. Credentials are allowed only in cookie mode.
    pub cors_origins: Option<Vec<String>>,
    /// Take the client IP from `X-Forwarded-For` (every header line, in order). Only behind
    /// proxies that append to it: otherwise clients choose their own IP.
    pub trust_forwarded_for: bool,
    /// How many proxies in front of us append to `X-Forwarded-For`: the client is the entry
    /// this many from the right (1: the one the nearest proxy appended). Left of it, entries are
    /// the client's own word.
    pub trusted_proxy_hops: u8,
    /// Send `Strict-Transport-Security: max-age=…` (only when clients reach us over HTTPS).
    pub hsts_max_age_secs: Option<u64>,
    /// Seconds a client may take to send a request's headers; a keep-alive connection waiting
    /// for its next request is closed after the same time (HTTP/1.1).
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay without any traffic before it is closed (HTTP/2 included).
    pub idle_timeout_secs: u64,
    /// The operators' listener: `/metrics`, `/healthz` and the detailed `/readyz`. Keep it off
    /// the public network (the chart exposes it to probes and the monitoring only).
    pub ops_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `iss` of issued access tokens, and the only issuer accepted.
    pub issuer: String,
    /// `aud` of issued access tokens, and the only audience accepted.
    pub audience: String,
    pub access_token_ttl_secs: u64,
    /// Idle lifetime of a session: each refresh extends it by this much.
    pub refresh_token_ttl_secs: u64,
    /// Absolute lifetime of a session, however often it is refreshed.
    pub session_max_age_secs: u64,
    /// Seconds during which a just-rotated refresh token still succeeds (tabs refreshing at once).
    pub refresh_grace_secs: u64,
    /// PEM (PKCS#8) of the Ed25519 key that signs access tokens, inline.
    pub signing_key: Option<Secret<String>>,
    /// …or the path of that PEM file.
    pub signing_key_file: Option<PathBuf>,
    /// PEM files of retired public keys still accepted for verification (key rotation).
    pub verification_key_files: Vec<PathBuf>,
    /// Secret (at least 32 bytes) from which rotated refresh tokens are derived.
    pub refresh_token_secret: Option<Secret<String>>,
    /// Send the refresh token as an HttpOnly cookie instead of in the JSON body.
    pub cookie_mode: bool,
    /// Upper bound, in seconds, on how long a replica trusts cached session state if a
    /// revocation notice were lost. Revocations normally apply at once through NOTIFY.
    pub session_cache_ttl_secs: u64,
    pub lockout: LockoutSettings,
    pub hashing: HashingSettings,
}

/// The argon2 workers. Each holds one 19 MiB block, so hashing memory is at most
/// `workers` × 19 MiB; a hash asked for while `queue` others wait is answered 503 at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashingSettings {
    /// Hashing threads (0 = one per available core).
    pub workers: usize,
    /// Hashes that may wait for a free worker.
    pub queue: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failed logins for one account within the window before it is locked.
    pub account_max_failures: u32,
    /// Failed logins from one client IP within the window before it is locked.
    pub ip_max_failures: u32,
    pub window_secs: u64,
    pub lock_secs: u64,
    /// Failures after which each further failure is answered more slowly.
    pub delay_after: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`; by default text in `dev` and JSON in `prod`.
    pub format: Option<LogFormat>,
    /// A `tracing` filter such as `info` or `dealergate=debug,info`; `RUST_LOG` overrides it.
    pub level: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// The folder with `model.conf`, `policy.csv` and `tests.csv`.
    pub dir: PathBuf,
    /// Reload when the files change (SIGHUP and the reload endpoint work either way).
    pub watch: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSettings {
    /// Seconds between purges of expired login counters and long-ended sessions (0 = never).
    pub purge_interval_secs: u64,
    /// Rows deleted per statement; a purge repeats batches until a batch comes back short.
    pub purge_batch_size: u32,
    /// Seconds an expired or revoked session is kept (for investigations) before it is purged.
    pub session_retention_secs: u64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        Self {
            purge_interval_secs: 300,
            purge_batch_size: 1000,
            session_retention_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedSettings {
    /// The folder with the demo data files read by `dealergate seed`.
    pub dir: PathBuf,
}

mod defaults {
    use std::net::SocketAddr;

    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8000))
    }
}

impl Default for Settings {
    /// The built-in defaults alone, without any file or environment (what tests start from).
    fn default() -> Self {
        Self {
            profile: Profile::default(),
            listen: defaults::listen(),
            database: DatabaseSettings::default(),
            http: HttpSettings::default(),
            auth: AuthSettings::default(),
            policies: PolicySettings::default(),
            log: LogSettings::default(),
            seed: SeedSettings::default(),
            maintenance: MaintenanceSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new(DEV_DATABASE_URL.to_owned()),
            max_connections: 16,
            min_connections: 1,
            acquire_timeout_secs: 3,
            connect_timeout_secs: 3,
            statement_timeout_secs: 15,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            body_timeout_secs: 10,
            shutdown_timeout_secs: 20,
            shutdown_delay_secs: 0,
            cors_origins: None,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            hsts_max_age_secs: None,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            ops_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9090))),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "dealergate".into(),
            audience: "dealergate".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 7 * 24 * 3600,
            session_max_age_secs: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            signing_key: None,
            signing_key_file: None,
            verification_key_files: Vec::new(),
            refresh_token_secret: None,
            cookie_mode: false,
            session_cache_ttl_secs: 60,
            lockout: LockoutSettings::default(),
            hashing: HashingSettings::default(),
        }
    }
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 64,
        }
    }
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            account_max_failures: 5,
            ip_max_failures: 50,
            window_secs: 15 * 60,
            lock_secs: 15 * 60,
            delay_after: 2,
        }
    }
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("policies"),
            watch: true,
        }
    }
}

impl Default for SeedSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("seed"),
        }
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}

impl HttpSettings {
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_secs(self.shutdown_delay_secs)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    /// The origins CORS allows under `profile`.
    pub fn cors_origins_for(&self, profile: Profile) -> Vec<String> {
        match (&self.cors_origins, profile) {
            (Some(origins), _) => origins.clone(),
            (None, Profile::Dev) => [3000, 4200, 5173, 8080]
                .iter()
                .flat_map(|port| {
                    [
                        format!("http://localhost:{port}"),
                        format!("http://127.0.0.1:{port}"),
                    ]
                })
                .collect(),
            (None, Profile::Prod) => Vec::new(),
        }
    }
}

impl AuthSettings {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }
}

impl HashingSettings {
    /// The configured number of workers, or the available cores.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

impl LogSettings {
    pub fn format_for(&self, profile: Profile) -> LogFormat {
        self.format.unwrap_or(match profile {
            Profile::Dev => LogFormat::Text,
            Profile::Prod => LogFormat::Json,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("insecure configuration for the prod profile: {0}")]
    Insecure(String),
}

impl Settings {
    /// Reads the layers. `config_file` is `--config`; without it `DEALERGATE_CONFIG`, then
    /// `./dealergate.toml` if present.
    pub fn load(config_file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let explicit =
            config_file.or_else(|| std::env::var_os("DEALERGATE_CONFIG").map(PathBuf::from));
        let file = match explicit {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path)),
            Some(path) => Some(path),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let settings: Settings = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(Env::prefixed("DEALERGATE_").split("__").ignore(&["config"]))
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        settings.check()?;
        Ok(settings)
    }

    /// What `prod` refuses: anything that only makes sense on a developer's machine.
    fn check(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        if auth.access_token_ttl_secs == 0 || auth.refresh_token_ttl_secs == 0 {
            return Err(ConfigError::Insecure(
                "token lifetimes must be positive".into(),
            ));
        }
        if let Some(secret) = &auth.refresh_token_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::Insecure(
                "auth.refresh_token_secret must be at least 32 bytes".into(),
            ));
        }
        if self.http.trust_forwarded_for && self.http.trusted_proxy_hops == 0 {
            return Err(ConfigError::Insecure(
                "http.trusted_proxy_hops must be at least 1 when trusting X-Forwarded-For".into(),
            ));
        }
        for origin in self.http.cors_origins.iter().flatten() {
            let valid = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !valid {
                return Err(ConfigError::Insecure(format!(
                    "http.cors_origins: {origin:?} is not an origin like https://app.example.com"
                )));
            }
        }
        if self.profile != Profile::Prod {
            return Ok(());
        }
        if self.database.url.expose() == DEV_DATABASE_URL {
            return Err(ConfigError::Insecure(
                "database.url is the development default; set DATABASE_URL".into(),
            ));
        }
        Ok(())
    }

    /// What `prod` additionally needs to serve: real keys, short-lived access tokens. (Other
    /// commands, such as `migrate up` in a Helm hook, need no signing secrets.)
    pub fn check_serving(&self) -> Result<(), ConfigError> {
        if self.profile != Profile::Prod {
            return Ok(());
        }
        let auth = &self.auth;
        if auth.signing_key.is_none() && auth.signing_key_file.is_none() {
            return Err(ConfigError::Insecure(
                "no signing key: set auth.signing_key or auth.signing_key_file \
                 (`dealergate keys generate` makes one)"
                    .into(),
            ));
        }
        if auth.refresh_token_secret.is_none() {
            return Err(ConfigError::Insecure(
                "auth.refresh_token_secret is not set".into(),
            ));
        }
        if auth.access_token_ttl_secs > 3600 {
            return Err(ConfigError::Insecure(
                "access tokens must live at most an hour in prod".into(),
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted (`dealergate config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// A value that never leaves the process by accident: `Debug`, `Display` and `Serialize`
/// all print `[redacted]`. Read it with [`Secret::expose`].
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

#[cfg(test)]
// figment's Jail fixes the closures' error type to figment::Error, which clippy finds large
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_a_working_dev_setup() {
        Jail::expect_with(|_jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.profile, Profile::Dev);
            assert_eq!(s.listen.to_string(), "127.0.0.1:8000");
            assert_eq!(s.database.url.expose(), DEV_DATABASE_URL);
            assert_eq!(s.http.body_limit_bytes, 65536);
            assert_eq!(s.log.format_for(s.profile), LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    fn file_then_database_url_then_prefixed_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "dealergate.toml",
                "listen = \"0.0.0.0:9000\"\n[database]\nurl = \"postgres://file\"\nmax_connections = 4\n",
            )?;
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.listen.port(), 9000);
            assert_eq!(s.database.url.expose(), "postgres://file");

            jail.set_env("DATABASE_URL", "postgres://from-database-url");
            jail.set_env("DEALERGATE_DATABASE__MAX_CONNECTIONS", "7");
            jail.set_env("DEALERGATE_LISTEN", "127.0.0.1:0");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.database.url.expose(), "postgres://from-database-url");
            assert_eq!(s.database.max_connections, 7);
            assert_eq!(s.listen.port(), 0);

            jail.set_env("DEALERGATE_DATABASE__URL", "postgres://prefixed");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.database.url.expose(), "postgres://prefixed");
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_key_is_an_error_not_a_silent_default() {
        Jail::expect_with(|jail| {
            jail.set_env("DEALERGATE_DATABASE__MAX_CONECTIONS", "7");
            let err = Settings::load(None).expect_err("unknown key must fail");
            assert!(err.to_string().contains("max_conections"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn cors_origins_must_be_plain_origins() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "DEALERGATE_HTTP__CORS_ORIGINS",
                r#"["https://app.example.com/path"]"#,
            );
            assert!(Settings::load(None).is_err());
            jail.set_env("DEALERGATE_HTTP__CORS_ORIGINS", r#"["*"]"#);
            assert!(Settings::load(None).is_err());
            jail.set_env(
                "DEALERGATE_HTTP__CORS_ORIGINS",
                r#"["https://app.example.com"]"#,
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.http.cors_origins_for(s.profile),
                ["https://app.example.com"]
            );
            Ok(())
        });
    }

    #[test]
    fn an_explicit_config_file_must_exist() {
        Jail::expect_with(|jail| {
            jail.set_env("DEALERGATE_CONFIG", "nowhere.toml");
            assert!(matches!(
                Settings::load(None),
                Err(ConfigError::MissingFile(_))
            ));
            Ok(())
        });
    }

    #[test]
    fn prod_refuses_insecure_configuration() {
        Jail::expect_with(|jail| {
            jail.set_env("DEALERGATE_PROFILE", "prod");
            assert!(matches!(
                Settings::load(None),
                Err(ConfigError::Insecure(_))
            ));
            jail.set_env("DATABASE_URL", "postgres://app:pw@db/dealergate");
            let migrating = Settings::load(None).map_err(|e| e.to_string())?;
            let err = migrating.check_serving().expect_err("no signing key");
            assert!(err.to_string().contains("signing key"), "{err}");
            jail.set_env("DEALERGATE_AUTH__SIGNING_KEY_FILE", "/keys/signing.pem");
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("no refresh secret");
            assert!(err.to_string().contains("refresh_token_secret"), "{err}");
            jail.set_env("DEALERGATE_AUTH__REFRESH_TOKEN_SECRET", "short");
            assert!(Settings::load(None).is_err(), "a short secret is refused");
            jail.set_env("DEALERGATE_AUTH__REFRESH_TOKEN_SECRET", "x".repeat(32));
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            s.check_serving().map_err(|e| e.to_string())?;
            assert_eq!(s.log.format_for(s.profile), LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_when_printed() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/dealergate");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!s.to_redacted_toml().contains("hunter2"));
            assert!(!format!("{s:?}").contains("hunter2"));
            assert!(s.to_redacted_toml().contains("[redacted]"));
            Ok(())
        });
    }
}
