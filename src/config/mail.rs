//! Where mail goes and what its links point to: [`MailSettings`] (`[mail]`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

use super::{Profile, Secret};

/// The web frontend a developer runs locally (one of the dev CORS origins).

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// `smtps://user:pass@host:465` (implicit TLS), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS). A secret: it holds the SMTP password. Unset (dev only): the file outbox.
    pub smtp_url: Option<Secret<String>>,
    /// The `From` of every message.
    pub from: String,
    pub reply_to: Option<String>,
    /// The web frontend that links point to, e.g. `https://app.example.com`; required in prod.
    pub public_base_url: Option<String>,
    /// Path (and query) of the password-reset page; `{token}` is replaced by the token.
    pub reset_password_path: String,
    /// Path of the email-verification page; `{token}` is replaced by the token.
    pub verify_email_path: String,
    /// Path of the page that confirms an email change; `{token}` is replaced by the token.
    pub confirm_email_path: String,
    /// Path of the sign-up page an invitation links to; `{token}` is replaced by the token.
    pub invitation_path: String,
    /// Without `smtp_url`: one `.eml` file per message here, and the link logged at INFO.
    pub outbox_dir: PathBuf,
    /// A folder whose `<kind>/subject.txt`, `body.txt` and `body.html` replace the built-in
    /// templates (the Helm chart mounts a ConfigMap here); missing files keep the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// Seconds between looks at the queue when no NOTIFY woke the sender.
    pub poll_interval_secs: u64,
    /// Attempts per message before it is given up (`failed_at`).
    pub max_attempts: u32,
    /// The first retry waits this long; each further one twice as long, up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// A connection or an SMTP exchange that takes longer has failed.
    pub send_timeout_secs: u64,
    /// Messages claimed per round.
    pub batch_size: u32,
    /// Lifetime of a password-reset link.
    pub password_reset_ttl_secs: u64,
    /// Lifetime of an email-verification link.
    pub verify_email_ttl_secs: u64,
    /// Lifetime of the link that confirms an email change.
    pub email_change_ttl_secs: u64,
    /// Lifetime of an invitation (and of its link; a resend starts it again).
    pub invitation_ttl_secs: u64,
    /// Invitations (sent or resent) one dealership may mail in an hour; then 429.
    pub invitations_per_hour_per_dealership: u32,
    /// Invitations (sent or resent) one sender may mail in an hour; then 429.
    pub invitations_per_hour_per_sender: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "dealergate <no-reply@localhost>".into(),
            reply_to: None,
            public_base_url: None,
            reset_password_path: "/console/reset-password?token={token}".into(),
            verify_email_path: "/console/verify-email?token={token}".into(),
            confirm_email_path: "/console/confirm-email?token={token}".into(),
            invitation_path: "/console/accept-invitation?token={token}".into(),
            outbox_dir: PathBuf::from("outbox"),
            templates_dir: None,
            poll_interval_secs: 5,
            max_attempts: 8,
            retry_base_secs: 2,
            retry_max_secs: 600,
            send_timeout_secs: 15,
            batch_size: 20,
            password_reset_ttl_secs: 30 * 60,
            verify_email_ttl_secs: 3 * 24 * 3600,
            email_change_ttl_secs: 24 * 3600,
            invitation_ttl_secs: 72 * 3600,
            invitations_per_hour_per_dealership: 200,
            invitations_per_hour_per_sender: 50,
        }
    }
}

impl MailSettings {
    /// The address mailed links start with: configured, or (dev only) this server's own, whose
    /// console answers the links (`localhost` for a loopback listener: browsers hold its
    /// `Secure` cookies).
    pub fn public_base_url_for(&self, profile: Profile, listen: SocketAddr) -> Option<String> {
        match (&self.public_base_url, profile) {
            (Some(url), _) => Some(url.trim_end_matches('/').to_owned()),
            (None, Profile::Dev) if listen.ip().is_loopback() => {
                Some(format!("http://localhost:{}", listen.port()))
            }
            (None, Profile::Dev) => Some(format!("http://{listen}")),
            (None, Profile::Prod) => None,
        }
    }

    /// Whether any mailed link opens a console page (`/console/…`).
    pub fn links_to_console(&self) -> bool {
        [
            &self.reset_password_path,
            &self.verify_email_path,
            &self.confirm_email_path,
            &self.invitation_path,
        ]
        .iter()
        .any(|path| path.starts_with("/console/"))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_secs.max(1))
    }

    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs.max(1))
    }

    /// How long to wait after the `attempts`-th failure: doubling from `retry_base_secs`.
    pub fn retry_after(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let secs = self.retry_base_secs.saturating_mul(1 << exponent);
        Duration::from_secs(secs.min(self.retry_max_secs))
    }

    /// What is wrong with the mail settings in any profile.
    pub(super) fn problems(&self) -> Option<String> {
        if let Some(url) = &self.smtp_url {
            let parsed = url::Url::parse(url.expose());
            // never echo the URL: it holds the password
            if !parsed.is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some()) {
                return Some("mail.smtp_url is not an smtp:// or smtps:// URL with a host".into());
            }
        }
        if let Some(base) = &self.public_base_url {
            let valid = url::Url::parse(base)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !valid {
                return Some(format!(
                    "mail.public_base_url: {base:?} is not an address like https://app.example.com"
                ));
            }
        }
        for (key, path) in [
            ("reset_password_path", &self.reset_password_path),
            ("verify_email_path", &self.verify_email_path),
            ("confirm_email_path", &self.confirm_email_path),
            ("invitation_path", &self.invitation_path),
        ] {
            if !path.starts_with('/') || !path.contains("{token}") {
                return Some(format!(
                    "mail.{key}: {path:?} must start with / and contain {{token}}"
                ));
            }
        }
        if self.from.parse::<Mailbox>().is_err() {
            return Some(format!("mail.from: {:?} is not a mailbox", self.from));
        }
        if let Some(reply_to) = &self.reply_to
            && reply_to.parse::<Mailbox>().is_err()
        {
            return Some(format!("mail.reply_to: {reply_to:?} is not a mailbox"));
        }
        let positive = [
            self.max_attempts as u64,
            self.batch_size as u64,
            self.password_reset_ttl_secs,
            self.verify_email_ttl_secs,
            self.email_change_ttl_secs,
            self.invitation_ttl_secs,
            self.invitations_per_hour_per_dealership as u64,
            self.invitations_per_hour_per_sender as u64,
        ];
        if positive.contains(&0) {
            return Some(
                "mail.max_attempts, batch_size, the link lifetimes (*_ttl_secs) and the \
                 invitation limits (invitations_per_hour_*) must be positive"
                    .into(),
            );
        }
        None
    }
}
