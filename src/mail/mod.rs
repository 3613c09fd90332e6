//! Mail: what a message says ([`templates`]), how it is queued in the transaction of the change
//! that causes it ([`outbox`]), and how the sender on every replica delivers it ([`sender`],
//! [`transport`]). Services compose with a [`Mailer`] and queue with [`outbox::enqueue`].

pub mod outbox;
pub mod sender;
pub mod templates;
pub mod transport;

use std::sync::Arc;

use uuid::Uuid;

pub use templates::{Context, Kind};

use crate::{
    config::{MailSettings, Profile},
    error::AppError,
};

/// The templates and where links point: what a service needs to compose a message.
#[derive(Clone)]
pub struct Mailer(Arc<Inner>);

struct Inner {
    templates: templates::Templates,
    base_url: String,
    reset_password_path: String,
    verify_email_path: String,
    confirm_email_path: String,
    invitation_path: String,
}

/// One message to compose: its kind, who gets it, and what its templates see.
#[derive(Clone)]
pub struct Compose {
    pub kind: Kind,
    pub dealership_id: Option<Uuid>,
    pub recipient: String,
    pub context: Context,
}

impl Mailer {
    /// Loads (and test-renders) the templates. Prod has checked that `public_base_url` is set.
    pub fn new(
        settings: &MailSettings,
        profile: Profile,
        listen: std::net::SocketAddr,
    ) -> anyhow::Result<Self> {
        let templates = templates::Templates::load(settings.templates_dir.as_deref())?;
        let base_url = settings
            .public_base_url_for(profile, listen)
            .ok_or_else(|| anyhow::anyhow!("mail.public_base_url is not set"))?;
        Ok(Self(Arc::new(Inner {
            templates,
            base_url,
            reset_password_path: settings.reset_password_path.clone(),
            verify_email_path: settings.verify_email_path.clone(),
            confirm_email_path: settings.confirm_email_path.clone(),
            invitation_path: settings.invitation_path.clone(),
        })))
    }

    /// The frontend's password-reset page for `token`.
    pub fn reset_password_link(&self, token: &str) -> String {
        self.link(&self.0.reset_password_path, token)
    }

    /// The frontend's email-verification page for `token`.
    pub fn verify_email_link(&self, token: &str) -> String {
        self.link(&self.0.verify_email_path, token)
    }

    /// The frontend's page that confirms an email change with `token`.
    pub fn confirm_email_link(&self, token: &str) -> String {
        self.link(&self.0.confirm_email_path, token)
    }

    /// The frontend's sign-up page for an invitation's `token`.
    pub fn invitation_link(&self, token: &str) -> String {
        self.link(&self.0.invitation_path, token)
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!("{}{}", self.0.base_url, path.replace("{token}", token))
    }

    /// Renders a message, ready for [`outbox::enqueue`].
    pub fn compose(&self, message: Compose) -> Result<outbox::Outgoing, AppError> {
        let rendered = self
            .0
            .templates
            .render(message.kind, &message.context)
            .map_err(AppError::internal)?;
        let link = Some(message.context.link).filter(|l| !l.is_empty());
        Ok(outbox::Outgoing {
            kind: message.kind,
            dealership_id: message.dealership_id,
            recipient: message.recipient,
            rendered,
            link,
        })
    }
}
