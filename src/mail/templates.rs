//! What a message says: per [`Kind`], a subject, a text and an HTML template rendered with
//! minijinja (`.html` autoescaped). The built-in copies are compiled in, so the binary works
//! from any directory; `mail.templates_dir` replaces any of them file by file.

use std::path::Path;

use anyhow::Context as _;
use minijinja::Environment;
use serde::Serialize;

/// The messages the product sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PasswordReset,
    PasswordChanged,
    VerifyEmail,
    /// To the new address: the link that makes it the sign-in email.
    ConfirmEmailChange,
    /// To the old address: someone asked to move the account to `new_email`.
    EmailChangeRequested,
    /// The notice that the user closed their own account.
    AccountClosed,
    /// To an invited address: the link that signs up; `first_name` may be empty, `role` set.
    Invitation,
    /// Security notices: a second factor was added to or removed from the account (by the user
    /// or by support), or a recovery code was used to sign in.
    MfaFactorAdded,
    MfaFactorRemoved,
    MfaRecoveryCodeUsed,
    /// To a dealership's principals (a platform endpoint: the admins): a webhook endpoint
    /// (`endpoint`) was disabled after a run of failed deliveries.
    WebhookDisabled,
    /// To a dormant membership's holder: it will be deactivated on `deadline` unless used.
    DormantNotice,
    /// To each platform admin: a dormant last principal (`new_email`, unused since `deadline`)
    /// of `dealership` was kept active.
    DormantPrincipalKept,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::PasswordReset,
        Kind::PasswordChanged,
        Kind::VerifyEmail,
        Kind::ConfirmEmailChange,
        Kind::EmailChangeRequested,
        Kind::AccountClosed,
        Kind::Invitation,
        Kind::MfaFactorAdded,
        Kind::MfaFactorRemoved,
        Kind::MfaRecoveryCodeUsed,
        Kind::WebhookDisabled,
        Kind::DormantNotice,
        Kind::DormantPrincipalKept,
    ];

    /// The folder of its templates, and the `kind` stored with the message and in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PasswordReset => "password_reset",
            Kind::PasswordChanged => "password_changed",
            Kind::VerifyEmail => "verify_email",
            Kind::ConfirmEmailChange => "confirm_email_change",
            Kind::EmailChangeRequested => "email_change_requested",
            Kind::AccountClosed => "account_closed",
            Kind::Invitation => "invitation",
            Kind::MfaFactorAdded => "mfa_factor_added",
            Kind::MfaFactorRemoved => "mfa_factor_removed",
            Kind::MfaRecoveryCodeUsed => "mfa_recovery_code_used",
            Kind::WebhookDisabled => "webhook_disabled",
            Kind::DormantNotice => "dormant_notice",
            Kind::DormantPrincipalKept => "dormant_principal_kept",
        }
    }

    fn builtin(self) -> [(&'static str, &'static str); 3] {
        macro_rules! files {
            ($dir:literal) => {
                [
                    (
                        "subject.txt",
                        include_str!(concat!("../../templates/mail/", $dir, "/subject.txt")),
                    ),
                    (
                        "body.txt",
                        include_str!(concat!("../../templates/mail/", $dir, "/body.txt")),
                    ),
                    (
                        "body.html",
                        include_str!(concat!("../../templates/mail/", $dir, "/body.html")),
                    ),
                ]
            };
        }
        match self {
            Kind::PasswordReset => files!("password_reset"),
            Kind::PasswordChanged => files!("password_changed"),
            Kind::VerifyEmail => files!("verify_email"),
            Kind::ConfirmEmailChange => files!("confirm_email_change"),
            Kind::EmailChangeRequested => files!("email_change_requested"),
            Kind::AccountClosed => files!("account_closed"),
            Kind::Invitation => files!("invitation"),
            Kind::MfaFactorAdded => files!("mfa_factor_added"),
            Kind::MfaFactorRemoved => files!("mfa_factor_removed"),
            Kind::MfaRecoveryCodeUsed => files!("mfa_recovery_code_used"),
            Kind::WebhookDisabled => files!("webhook_disabled"),
            Kind::DormantNotice => files!("dormant_notice"),
            Kind::DormantPrincipalKept => files!("dormant_principal_kept"),
        }
    }
}

/// What every template may use. `link` is empty for notices that carry none.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    pub first_name: String,
    /// The account's sign-in email (for an email change: the address being replaced).
    pub email: String,
    /// The dealership's name; `None` for platform admins.
    pub dealership: Option<String>,
    pub link: String,
    pub expires_minutes: u64,
    /// The address an email change moves the account to; `None` for every other message.
    pub new_email: Option<String>,
    /// The role an invitation offers; `None` for every other message.
    pub role: Option<String>,
    /// The URL of a disabled webhook endpoint; `None` for every other message.
    pub endpoint: Option<String>,
    /// A date the message names (a dormant account's deactivation or last use); `None` for
    /// every other message.
    pub deadline: Option<String>,
}

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<kind>/<file>` where that exists. Every
    /// template is rendered once with a sample, so a broken override stops the start-up.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for kind in Kind::ALL {
            for (file, builtin) in kind.builtin() {
                let name = format!("{}/{file}", kind.name());
                let source = match dir.map(|d| d.join(&name)).filter(|p| p.is_file()) {
                    Some(path) => std::fs::read_to_string(&path)
                        .with_context(|| format!("reading mail template {}", path.display()))?,
                    None => builtin.to_owned(),
                };
                env.add_template_owned(name.clone(), source)
                    .with_context(|| format!("mail template {name}"))?;
            }
        }
        let templates = Self { env };
        let sample = Context {
            first_name: "Alice".into(),
            email: "alice@example.com".into(),
            dealership: Some("Premium Auto".into()),
            link: "https://app.example.com/reset-password?token=sample".into(),
            expires_minutes: 30,
            new_email: Some("alice.new@example.com".into()),
            role: Some("agent".into()),
            endpoint: Some("https://hooks.example.com/dealergate".into()),
            deadline: Some("2027-03-01".into()),
        };
        for kind in Kind::ALL {
            templates
                .render(kind, &sample)
                .with_context(|| format!("rendering the {} templates", kind.name()))?;
        }
        Ok(templates)
    }

    pub fn render(&self, kind: Kind, context: &Context) -> Result<Rendered, minijinja::Error> {
        let one = |file: &str| {
            self.env
                .get_template(&format!("{}/{file}", kind.name()))?
                .render(context)
        };
        Ok(Rendered {
            // a subject is one line, whatever the template's newlines
            subject: one("subject.txt")?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            text: one("body.txt")?,
            html: one("body.html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(first_name: &str, dealership: Option<&str>) -> Context {
        Context {
            first_name: first_name.into(),
            email: "a@example.com".into(),
            dealership: dealership.map(Into::into),
            link: "https://app.example.com/reset-password?token=abc&x=1".into(),
            expires_minutes: 30,
            new_email: None,
            role: None,
            endpoint: None,
            deadline: None,
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let templates = Templates::load(None).expect("built-in templates");
        let out = templates
            .render(
                Kind::PasswordReset,
                &context("<b>Eve</b>", Some("Tom & Jerry's")),
            )
            .expect("renders");
        assert!(
            out.html.contains("&lt;b&gt;Eve&lt;&#x2f;b&gt;"),
            "{}",
            out.html
        );
        assert!(!out.html.contains("<b>Eve"), "{}", out.html);
        assert!(out.text.contains("<b>Eve</b>"));
        assert_eq!(out.subject, "Reset your Tom & Jerry's password");
        assert!(out.text.contains("token=abc&x=1"));
    }

    #[test]
    fn platform_admins_get_no_dealership_name() {
        let templates = Templates::load(None).expect("built-in templates");
        let out = templates
            .render(Kind::PasswordChanged, &context("Ada", None))
            .expect("renders");
        assert_eq!(out.subject, "Your password was changed");
    }

    #[test]
    fn the_account_closed_notice_names_the_dealership_and_the_address() {
        let templates = Templates::load(None).expect("built-in templates");
        let out = templates
            .render(Kind::AccountClosed, &context("Ada", Some("Premium Auto")))
            .expect("renders");
        assert_eq!(out.subject, "Your Premium Auto account was closed");
        assert!(out.text.contains("a@example.com"), "{}", out.text);
        let admin = templates
            .render(Kind::AccountClosed, &context("Ada", None))
            .expect("renders");
        assert_eq!(admin.subject, "Your account was closed");
    }

    #[test]
    fn an_override_folder_replaces_single_files_and_a_broken_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("dg-templates-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("password_reset")).expect("dir");
        std::fs::write(
            dir.join("password_reset/subject.txt"),
            "Custom {{ first_name }}",
        )
        .expect("write");
        let templates = Templates::load(Some(&dir)).expect("override loads");
        let out = templates
            .render(Kind::PasswordReset, &context("Bob", None))
            .expect("renders");
        assert_eq!(out.subject, "Custom Bob");
        assert!(
            out.text.contains("reset the password"),
            "body stays built in"
        );
        std::fs::write(dir.join("password_reset/body.html"), "{{ no_such_value }}").expect("write");
        assert!(Templates::load(Some(&dir)).is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}
