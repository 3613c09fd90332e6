//! What configuration is refused: in every profile, in `prod`, and in `prod` when serving.

use super::{ConfigError, DEV_DATABASE_URL, Profile, Settings};

impl Settings {
    /// What `prod` refuses: anything that only makes sense on a developer's machine.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
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
        if let Some(problem) = self.accounts.problem(self.profile) {
            return Err(ConfigError::Insecure(problem.into()));
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
        let machines = &self.service_accounts;
        if machines.key_ttl_days == 0 || machines.key_ttl_days > super::MAX_KEY_DAYS {
            return Err(ConfigError::Insecure(
                "service_accounts.key_ttl_days must be between 1 and 365".into(),
            ));
        }
        if machines.key_overlap_secs > 30 * 24 * 60 * 60 {
            return Err(ConfigError::Insecure(
                "service_accounts.key_overlap_secs must be at most 30 days: a rotated key \
                 is meant to stop working"
                    .into(),
            ));
        }
        if auth.open_signup.enabled && auth.open_signup.dealership_id.is_none() {
            return Err(ConfigError::Insecure(
                "auth.open_signup.enabled needs auth.open_signup.dealership_id: the one \
                 dealership open signups join"
                    .into(),
            ));
        }
        if let Some(key) = &auth.mfa.encryption_key
            && crate::auth::mfa::SecretBox::from_base64(key.expose()).is_none()
        {
            return Err(ConfigError::Insecure(
                "auth.mfa.encryption_key must be the base64 of 32 random bytes".into(),
            ));
        }
        if auth.mfa.issuer.trim().is_empty() || auth.mfa.issuer.contains(':') {
            return Err(ConfigError::Insecure(
                "auth.mfa.issuer must be a name without `:` (it prefixes the account in \
                 authenticator apps)"
                    .into(),
            ));
        }
        if auth.mfa.step_up_max_age_secs == 0 || auth.mfa.challenge_ttl_secs == 0 {
            return Err(ConfigError::Insecure(
                "auth.mfa lifetimes must be positive".into(),
            ));
        }
        if !self.console.enabled && self.mail.links_to_console() {
            return Err(ConfigError::Insecure(
                "console.enabled is off but mailed links open console pages: set the \
                 mail.*_path settings to your frontend's pages"
                    .into(),
            ));
        }
        if self.console.idle_timeout_secs < 60 {
            return Err(ConfigError::Insecure(
                "console.idle_timeout_secs must be at least 60".into(),
            ));
        }
        if let Some(problem) = self.cache.problem().or_else(|| self.mail.problems()) {
            return Err(ConfigError::Insecure(problem));
        }
        if let Some(problem) = self.webhooks.problems() {
            return Err(ConfigError::Insecure(problem));
        }
        if self.profile != Profile::Prod {
            return Ok(());
        }
        if let Some(problem) = self.webhooks.insecure_in_prod() {
            return Err(ConfigError::Insecure(problem));
        }
        if !self.console.secure_cookie {
            return Err(ConfigError::Insecure(
                "console.secure_cookie is off: prod sends the console's session cookie over \
                 HTTPS only"
                    .into(),
            ));
        }
        if self.database.url.expose() == DEV_DATABASE_URL {
            return Err(ConfigError::Insecure(
                "database.url is the development default; set DATABASE_URL".into(),
            ));
        }
        Ok(())
    }

    /// What serving needs: in every profile, a LISTEN that can hear the other replicas; in
    /// `prod` also real keys (the ID tokens' ES256 key too) and short-lived access tokens. (Other commands, such as
    /// `migrate up` or `admin create-user` in a Helm hook, neither LISTEN nor sign.)
    pub fn check_serving(&self) -> Result<(), ConfigError> {
        let db = &self.database;
        if db.transaction_pooling && db.listen_url() == db.url.expose() {
            // LISTEN through a transaction pooler subscribes one server connection for one
            // transaction: the notices go nowhere and revoked tokens keep working until `exp`
            return Err(ConfigError::Insecure(
                "database.transaction_pooling needs database.listen_url: a direct connection \
                 for LISTEN/NOTIFY (a transaction pooler cannot hold a LISTEN)"
                    .into(),
            ));
        }
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
        if auth.mfa.encryption_key.is_none() {
            return Err(ConfigError::Insecure(
                "auth.mfa.encryption_key is not set: it seals the TOTP secrets \
                 (`openssl rand -base64 32` makes one)"
                    .into(),
            ));
        }
        if auth.access_token_ttl_secs > 3600 {
            return Err(ConfigError::Insecure(
                "access tokens must live at most an hour in prod".into(),
            ));
        }
        // the file outbox is for a developer's machine: prod mail must really leave
        if self.mail.smtp_url.is_none() {
            return Err(ConfigError::Insecure(
                "mail.smtp_url is not set: prod sends mail over SMTP".into(),
            ));
        }
        if self.mail.public_base_url.is_none() {
            return Err(ConfigError::Insecure(
                "mail.public_base_url is not set: mailed links need the frontend's address".into(),
            ));
        }
        if self.oidc.enabled && self.oidc.es256_key_file.is_none() {
            return Err(ConfigError::Insecure(
                "oidc.es256_key_file is not set: ID tokens are signed with ES256 by default \
                 (`dealergate keys generate --alg ES256` makes one); or turn oidc.enabled off"
                    .into(),
            ));
        }
        // relying parties compare the issuer with where they discovered it: over https only
        let issuer = self
            .oidc
            .issuer
            .as_ref()
            .or(self.mail.public_base_url.as_ref());
        if self.oidc.enabled && !issuer.is_some_and(|i| i.starts_with("https://")) {
            return Err(ConfigError::Insecure(
                "oidc.issuer (or mail.public_base_url) must be an https URL: it is the OpenID \
                 issuer"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail fixes the closures' error type to figment::Error, which clippy finds large
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use crate::config::{ConfigError, LogFormat, Settings};

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
    fn prod_refuses_insecure_configuration() {
        Jail::expect_with(|jail| {
            jail.set_env("DEALERGATE_AUTH__MFA__ISSUER", "Premium:Auto");
            assert!(
                Settings::load(None).is_err(),
                "an issuer with ':' is refused"
            );
            jail.set_env("DEALERGATE_AUTH__MFA__ISSUER", "Premium Auto");
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
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("no MFA key");
            assert!(err.to_string().contains("auth.mfa.encryption_key"), "{err}");
            jail.set_env("DEALERGATE_AUTH__MFA__ENCRYPTION_KEY", "c2hvcnQ=");
            assert!(
                Settings::load(None).is_err(),
                "a key of the wrong size is refused"
            );
            jail.set_env(
                "DEALERGATE_AUTH__MFA__ENCRYPTION_KEY",
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
            );
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("no SMTP server");
            assert!(err.to_string().contains("mail.smtp_url"), "{err}");
            jail.set_env(
                "DEALERGATE_MAIL__SMTP_URL",
                "smtps://u:mail-secret@smtp.example.com",
            );
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("no frontend address");
            assert!(err.to_string().contains("mail.public_base_url"), "{err}");
            jail.set_env(
                "DEALERGATE_MAIL__PUBLIC_BASE_URL",
                "https://app.example.com",
            );
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("no ID-token key");
            assert!(err.to_string().contains("oidc.es256_key_file"), "{err}");
            jail.set_env("DEALERGATE_OIDC__ENABLED", "false");
            Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .map_err(|e| e.to_string())?;
            jail.set_env("DEALERGATE_OIDC__ENABLED", "true");
            jail.set_env("DEALERGATE_OIDC__ES256_KEY_FILE", "/keys/id-es256.pem");
            jail.set_env("DEALERGATE_OIDC__ISSUER", "http://sso.example.com");
            let err = Settings::load(None)
                .map_err(|e| e.to_string())?
                .check_serving()
                .expect_err("an issuer over plain http");
            assert!(err.to_string().contains("oidc.issuer"), "{err}");
            jail.set_env("DEALERGATE_OIDC__ISSUER", "https://sso.example.com");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            s.check_serving().map_err(|e| e.to_string())?;
            assert!(!s.to_redacted_toml().contains("mail-secret"));
            assert_eq!(s.log.format_for(s.profile), LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn mail_settings_are_checked_without_echoing_the_smtp_password() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "DEALERGATE_MAIL__SMTP_URL",
                "http://u:mail-secret@smtp.example.com",
            );
            let err = Settings::load(None).expect_err("not an SMTP URL");
            assert!(err.to_string().contains("mail.smtp_url"), "{err}");
            assert!(!err.to_string().contains("mail-secret"), "{err}");
            jail.set_env("DEALERGATE_MAIL__SMTP_URL", "smtp://127.0.0.1:2525");
            jail.set_env("DEALERGATE_MAIL__RESET_PASSWORD_PATH", "/reset");
            let err = Settings::load(None).expect_err("no {token}");
            assert!(err.to_string().contains("reset_password_path"), "{err}");
            jail.set_env("DEALERGATE_MAIL__RESET_PASSWORD_PATH", "/r?t={token}");
            jail.set_env("DEALERGATE_MAIL__FROM", "not a mailbox");
            assert!(Settings::load(None).is_err());
            jail.set_env(
                "DEALERGATE_MAIL__FROM",
                "Premium Auto <no-reply@example.com>",
            );
            Settings::load(None).map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn open_signup_needs_the_dealership_it_signs_up_into() {
        Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!s.auth.open_signup.enabled, "off by default");
            jail.set_env("DEALERGATE_AUTH__OPEN_SIGNUP__ENABLED", "true");
            let err = Settings::load(None).expect_err("enabled without a dealership");
            assert!(
                err.to_string().contains("auth.open_signup.dealership_id"),
                "{err}"
            );
            let id = "0193a5f0-0000-7000-8000-000000000001";
            jail.set_env("DEALERGATE_AUTH__OPEN_SIGNUP__DEALERSHIP_ID", id);
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.auth
                    .open_signup
                    .dealership_id
                    .map(|d| d.to_string())
                    .as_deref(),
                Some(id)
            );
            Ok(())
        });
    }

    #[test]
    fn transaction_pooling_needs_a_direct_listen_url() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "DATABASE_URL",
                "postgres://app:pw@pgbouncer:6432/dealergate",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.database.listen_url(),
                "postgres://app:pw@pgbouncer:6432/dealergate",
                "LISTEN defaults to database.url"
            );
            jail.set_env("DEALERGATE_DATABASE__TRANSACTION_POOLING", "true");
            let hook = Settings::load(None).map_err(|e| e.to_string())?;
            let err = hook.check_serving().expect_err("LISTEN through the pooler");
            assert!(err.to_string().contains("listen_url"), "{err}");
            jail.set_env(
                "DEALERGATE_DATABASE__LISTEN_URL",
                "postgres://app:listen-secret@db:5432/dealergate",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.database.listen_url(),
                "postgres://app:listen-secret@db:5432/dealergate"
            );
            assert!(s.database.transaction_pooling);
            s.check_serving().map_err(|e| e.to_string())?;
            let printed = s.to_redacted_toml();
            assert!(!printed.contains("listen-secret"), "{printed}");
            assert!(!format!("{s:?}").contains("listen-secret"));
            Ok(())
        });
    }
}
