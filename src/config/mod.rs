//! What is configured: figment layers → one typed [`Settings`] tree, secrets in [`Secret`].
//!
//! Layers, later wins: built-in defaults → optional `dealergate.toml` (`--config` or
//! `DEALERGATE_CONFIG`) → `DATABASE_URL` → `DEALERGATE_*` (with `__` for nesting, e.g.
//! `DEALERGATE_DATABASE__MAX_CONNECTIONS`). The profile comes from `DEALERGATE_PROFILE`.
//!
//! Each `[section]` of the file has its own module here; `checks` holds what is refused.

mod accounts;
mod audit;
mod auth;
mod cache;
mod checks;
mod console;
mod database;
mod http;
mod log;
mod mail;
mod maintenance;
mod oidc;
mod policies;
mod secret;
mod seed;
mod service_accounts;
mod webhooks;

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::{Deserialize, Serialize};

pub use accounts::AccountSettings;
pub use audit::AuditSettings;
pub use auth::{AuthSettings, HashingSettings, LockoutSettings, MfaSettings, OpenSignupSettings};
pub use cache::CacheSettings;
pub use console::ConsoleSettings;
pub use database::{DEV_DATABASE_URL, DatabaseSettings};
pub use http::HttpSettings;
pub use log::{LogFormat, LogSettings};
pub use mail::MailSettings;
pub use maintenance::MaintenanceSettings;
pub use oidc::OidcSettings;
pub use policies::PolicySettings;
pub use secret::Secret;
pub use seed::SeedSettings;
pub use service_accounts::{MAX_KEY_DAYS, ServiceAccountSettings};
pub use webhooks::WebhookSettings;

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
    #[serde(default)]
    pub audit: AuditSettings,
    #[serde(default)]
    pub mail: MailSettings,
    #[serde(default)]
    pub console: ConsoleSettings,
    #[serde(default)]
    pub oidc: OidcSettings,
    #[serde(default)]
    pub service_accounts: ServiceAccountSettings,
    #[serde(default)]
    pub webhooks: WebhookSettings,
    #[serde(default)]
    pub accounts: AccountSettings,
    #[serde(default)]
    pub cache: CacheSettings,
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
            audit: AuditSettings::default(),
            mail: MailSettings::default(),
            console: ConsoleSettings::default(),
            oidc: OidcSettings::default(),
            service_accounts: ServiceAccountSettings::default(),
            webhooks: WebhookSettings::default(),
            accounts: AccountSettings::default(),
            cache: CacheSettings::default(),
        }
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

    /// The effective configuration as TOML, secrets redacted (`dealergate config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
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
}
