//! The webhook sender on every replica: woken by the trigger's NOTIFY (through the cluster
//! listener) and by a poll, it numbers what has committed (the sequencer, one replica at a
//! time), leases due events and posts each in a task of its own, up to
//! `webhooks.concurrency` at once: a receiver that hangs holds one slot until the timeout,
//! never the others. On shutdown it stops claiming and finishes the deliveries in hand.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio::{
    sync::{Notify, Semaphore},
    task::JoinHandle,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    disabling,
    outbox::{self, Claimed, SEQUENCE_BATCH},
    sealed_for,
};
use crate::{
    auth::mfa::SecretBox,
    config::WebhookSettings,
    error::AppError,
    mail::Mailer,
    tenancy::{Database, Scope},
    webhooks::{
        client::{Client, Outcome, Signed},
        signing,
    },
};

pub struct Sender {
    db: Database,
    settings: WebhookSettings,
    client: Client,
    sealer: SecretBox,
    mailer: Mailer,
}

impl Sender {
    pub fn new(
        db: Database,
        settings: WebhookSettings,
        sealer: SecretBox,
        mailer: Mailer,
    ) -> anyhow::Result<Self> {
        let client = Client::new(&settings)?;
        Ok(Self {
            db,
            settings,
            client,
            sealer,
            mailer,
        })
    }

    /// Runs until `stop` is cancelled, then waits for the deliveries in hand.
    pub fn spawn(self, wake: Arc<Notify>, stop: CancellationToken) -> JoinHandle<()> {
        let this = Arc::new(self);
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(this.settings.concurrency));
            let tasks = TaskTracker::new();
            while !stop.is_cancelled() {
                let pause = match this.round(&slots, &tasks, &stop).await {
                    Ok(pause) => pause,
                    Err(err) => {
                        tracing::warn!(error = %err, "webhook sender: the outbox is unreachable");
                        this.settings.poll_interval()
                    }
                };
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            tasks.close();
            tasks.wait().await;
            tracing::debug!("webhook sender stopped");
        })
    }

    /// Numbers, claims and starts every due event, then says how long to wait.
    async fn round(
        self: &Arc<Self>,
        slots: &Arc<Semaphore>,
        tasks: &TaskTracker,
        stop: &CancellationToken,
    ) -> Result<Duration, AppError> {
        loop {
            while outbox::sequence(&self.db).await? >= SEQUENCE_BATCH as u64 {}
            // wait for a free slot: a claimed event is leased, and should not wait out its
            // lease for one
            let Ok(first) = slots.clone().acquire_owned().await else {
                return Ok(Duration::ZERO);
            };
            let free = slots.available_permits() + 1;
            let claimed = outbox::claim(&self.db, free, self.settings.lease()).await?;
            let full = claimed.len() >= free;
            let mut first = Some(first);
            for event in claimed {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match slots.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        Err(_) => break, // cannot happen: only this loop takes slots
                    },
                };
                let me = self.clone();
                tasks.spawn(async move {
                    let _slot = permit;
                    if let Err(err) = me.deliver(event).await {
                        tracing::warn!(error = %err, "webhook sender: an attempt was not recorded");
                    }
                });
            }
            if !full || stop.is_cancelled() {
                break;
            }
        }
        let pending = outbox::pending(&self.db).await?;
        let poll = self.settings.poll_interval();
        let mut pause = pending.next_due_secs.map_or(poll, |secs| {
            Duration::try_from_secs_f64(secs.max(0.0)).map_or(poll, |due| due.min(poll))
        });
        if pending.unnumbered {
            // another replica holds the sequencer: look again soon
            pause = pause.min(Duration::from_millis(200));
        }
        Ok(pause)
    }

    /// The HMAC keys: the current secret, and the one before a rotation while it overlaps.
    fn keys(&self, event: &Claimed) -> Vec<Vec<u8>> {
        let open = |sealed: &[u8]| {
            let secret =
                self.sealer
                    .open(event.endpoint_id, sealed_for(event.dealership_id), sealed)?;
            signing::key_of(std::str::from_utf8(&secret).ok()?)
        };
        let previous = event
            .previous_sealed
            .as_deref()
            .filter(|_| event.previous_expires_at.is_some_and(|t| t > Utc::now()));
        std::iter::once(event.secret_sealed.as_slice())
            .chain(previous)
            .filter_map(open)
            .collect()
    }

    /// What the receiver gets: the stored payload with the event's place in its endpoint's
    /// order. The same on every attempt.
    fn body(event: &Claimed) -> Vec<u8> {
        let mut payload = event.payload.clone();
        if let Some(object) = payload.as_object_mut() {
            object.insert("sequence".into(), event.sequence.into());
            object.insert(
                "committed_at".into(),
                event
                    .committed_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    .into(),
            );
        }
        serde_json::to_vec(&payload).unwrap_or_default()
    }

    async fn deliver(&self, event: Claimed) -> Result<(), AppError> {
        let keys = self.keys(&event);
        let outcome = if keys.is_empty() {
            Outcome {
                status: None,
                duration: Duration::ZERO,
                error: Some("the endpoint's secret does not open with this key".into()),
            }
        } else {
            let id = event.id.to_string();
            let timestamp = Utc::now().timestamp();
            let body = Self::body(&event);
            let signature = signing::signature(&keys, &id, timestamp, &body);
            let signed = Signed {
                url: &event.url,
                id: &id,
                timestamp,
                signature: &signature,
                body: &body,
            };
            self.client.post(signed).await
        };
        let delivered = outcome.delivered();
        let retry = match delivered {
            true => None,
            false => self.settings.retry_after(event.attempts.max(1) as u32),
        };
        let tx = self.db.begin(Scope::Platform).await?;
        let health = outbox::settle(&tx, &event, &outcome, retry).await?;
        let limit = self.settings.disable_after_failures;
        if !delivered && health.enabled && limit > 0 && health.consecutive_failures >= limit as i32
        {
            let failures = health.consecutive_failures;
            disabling::disable(
                &tx,
                &self.mailer,
                event.endpoint_id,
                event.dealership_id,
                failures,
            )
            .await?;
        }
        tx.commit().await?;
        match &outcome.error {
            None => tracing::debug!(id = %event.id, "webhook delivered"),
            Some(error) => tracing::info!(id = %event.id, attempt = event.attempts, %error,
                retry_in_secs = retry.map(|r| r.as_secs()), "webhook attempt failed"),
        }
        Ok(())
    }
}
