//! Where a message goes: the SMTP server of `mail.smtp_url` (lettre: implicit TLS with
//! `smtps://`, STARTTLS with `?tls=required`, authentication from the URL's user and password),
//! or, in dev without one, a folder with one `.eml` file per message and its decoded text beside
//! it (`.txt`, to copy a link from).

use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

use crate::config::MailSettings;

use super::outbox::Claimed;

/// The longest error kept in `mail_outbox.last_error`.
const MAX_ERROR_CHARS: usize = 500;

pub enum Transport {
    Smtp {
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        /// the URL's password, blanked out of any error before it is stored or logged
        password: Option<String>,
    },
    Files(PathBuf),
}

/// The envelope every message shares.
pub struct Envelope {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
}

impl Transport {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let Some(url) = &settings.smtp_url else {
            return Ok(Self::Files(settings.outbox_dir.clone()));
        };
        let password = url::Url::parse(url.expose())
            .ok()
            .and_then(|u| u.password().map(str::to_owned));
        // an error here must not print the URL (it holds the password)
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|_| anyhow::anyhow!("mail.smtp_url cannot be used by the SMTP client"))?
            .timeout(Some(settings.send_timeout()))
            .build();
        Ok(Self::Smtp { smtp, password })
    }

    pub fn is_smtp(&self) -> bool {
        matches!(self, Self::Smtp { .. })
    }

    /// Delivers one message; the error is safe to store (no credentials, bounded length).
    pub async fn send(&self, envelope: &Envelope, message: &Claimed) -> Result<(), String> {
        let email =
            build(envelope, message).map_err(|e| format!("cannot build the message: {e}"))?;
        match self {
            Self::Smtp { smtp, password } => smtp
                .send(email)
                .await
                .map(drop)
                .map_err(|e| clean(e.to_string(), password.as_deref())),
            Self::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let path = dir.join(format!("{}.eml", message.id));
                tokio::fs::write(&path, email.formatted())
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                // the .eml is quoted-printable (a link's `=` is `=3D`, long lines are broken):
                // a person copies the link from the decoded text beside it
                let readable = dir.join(format!("{}.txt", message.id));
                tokio::fs::write(&readable, decoded(message))
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", readable.display()))?;
                tracing::info!(
                    kind = %message.kind,
                    file = %path.display(),
                    link = message.link.as_deref().unwrap_or(""),
                    "mail written to the dev file outbox"
                );
                Ok(())
            }
        }
    }
}

/// The message as a person reads it: who it is for, its subject and its plain text.
fn decoded(message: &Claimed) -> String {
    format!(
        "To: {}\nSubject: {}\n\n{}\n",
        message.recipient,
        message.subject,
        message.text_body.as_deref().unwrap_or_default().trim_end()
    )
}

fn build(envelope: &Envelope, message: &Claimed) -> anyhow::Result<Message> {
    let mut builder = Message::builder()
        .message_id(Some(format!("<{}@dealergate>", message.id)))
        .from(envelope.from.clone())
        .to(message.recipient.parse()?)
        .subject(&message.subject);
    if let Some(reply_to) = &envelope.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    Ok(builder.multipart(MultiPart::alternative_plain_html(
        message.text_body.clone().unwrap_or_default(),
        message.html_body.clone().unwrap_or_default(),
    ))?)
}

fn clean(error: String, password: Option<&str>) -> String {
    let error = match password.filter(|p| !p.is_empty()) {
        Some(password) => error.replace(password, "[redacted]"),
        None => error,
    };
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn errors_lose_the_password_and_are_bounded() {
        let error = clean("auth as u:hunter2 refused".into(), Some("hunter2"));
        assert_eq!(error, "auth as u:[redacted] refused");
        assert_eq!(clean("x".repeat(2000), None).len(), 500);
    }
}
