//! The sender on every replica: woken by the NOTIFY of a queued message (so delivery is
//! prompt) and by a poll (for retries, and for notices missed while the listener was down),
//! it claims due messages, sends them, marks them sent, or schedules a retry with exponential
//! backoff until `mail.max_attempts`, recording the last error. On shutdown it finishes the
//! message in hand and stops.

use std::{sync::Arc, time::Duration};

use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::{
    outbox::{self, Claimed},
    transport::{Envelope, Transport},
};
use crate::{config::MailSettings, error::AppError, metrics::metrics, tenancy::Database};

/// How long a claimed message stays this replica's before another may take it: well past
/// the SMTP timeout, so a slow send is not sent twice.
fn lease(settings: &MailSettings) -> Duration {
    settings.send_timeout() * 4
}

pub struct Sender {
    db: Database,
    settings: MailSettings,
    transport: Transport,
    envelope: Envelope,
}

impl Sender {
    pub fn new(db: Database, settings: MailSettings) -> anyhow::Result<Self> {
        let envelope = Envelope {
            from: settings.from.parse()?,
            reply_to: settings.reply_to.as_deref().map(str::parse).transpose()?,
        };
        let transport = Transport::new(&settings)?;
        if !transport.is_smtp() {
            tracing::info!(
                dir = %settings.outbox_dir.display(),
                "mail.smtp_url is not set: mail goes to the dev file outbox"
            );
        }
        Ok(Self {
            db,
            settings,
            transport,
            envelope,
        })
    }

    /// Runs until `stop` is cancelled.
    pub fn spawn(self, wake: Arc<Notify>, stop: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let pause = match self.round(&stop).await {
                    Ok(pause) => pause,
                    Err(err) => {
                        tracing::warn!(error = %err, "mail sender: the outbox is unreachable");
                        self.settings.poll_interval()
                    }
                };
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            tracing::debug!("mail sender stopped");
        })
    }

    /// Sends every due message, then says how long to wait before looking again.
    async fn round(&self, stop: &CancellationToken) -> Result<Duration, AppError> {
        loop {
            let claimed =
                outbox::claim(&self.db, self.settings.batch_size, lease(&self.settings)).await?;
            let full = claimed.len() as u32 >= self.settings.batch_size;
            let mut failure = None;
            for message in claimed {
                if stop.is_cancelled() {
                    // leased, not sent: the lease expires and a replica still running sends it
                    return Ok(Duration::ZERO);
                }
                // the rest of the batch is leased to this replica: one message's failed
                // bookkeeping must not leave the others waiting out the lease
                if let Err(err) = self.deliver(message).await {
                    tracing::warn!(error = %err, "mail sender: a delivery was not recorded");
                    failure = Some(err);
                }
            }
            if let Some(err) = failure {
                return Err(err);
            }
            if !full {
                break;
            }
        }
        let queue = outbox::queue(&self.db).await?;
        metrics().mail_queue_depth.set(queue.depth);
        metrics().mail_oldest_age.set(queue.oldest_age_secs as i64);
        let poll = self.settings.poll_interval();
        Ok(queue
            .next_due_secs
            .map_or(poll, |secs| Duration::from_secs_f64(secs).min(poll)))
    }

    async fn deliver(&self, message: Claimed) -> Result<(), AppError> {
        let kind = [message.kind.as_str()];
        match self.transport.send(&self.envelope, &message).await {
            Ok(()) => {
                outbox::mark_sent(&self.db, message.id).await?;
                metrics().mail_sent.with_label_values(&kind).inc();
                tracing::info!(id = %message.id, kind = %message.kind, "mail sent");
            }
            Err(error) => {
                let attempts = message.attempts.max(1) as u32;
                let give_up = attempts >= self.settings.max_attempts;
                let retry_after = self.settings.retry_after(attempts);
                outbox::mark_failed(&self.db, message.id, &error, retry_after, give_up).await?;
                if give_up {
                    metrics().mail_failed.with_label_values(&kind).inc();
                    tracing::error!(id = %message.id, kind = %message.kind, attempts, %error,
                        "mail given up");
                } else {
                    metrics().mail_retried.with_label_values(&kind).inc();
                    tracing::warn!(id = %message.id, kind = %message.kind, attempts,
                        retry_in_secs = retry_after.as_secs(), %error, "mail failed; will retry");
                }
            }
        }
        Ok(())
    }
}
