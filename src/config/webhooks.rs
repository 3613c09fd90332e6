//! Signed webhooks: how deliveries are timed, retried and guarded ([`WebhookSettings`],
//! `[webhooks]`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Whether this replica delivers (the outbox still fills while off; another replica, or
    /// this one once on again, delivers it).
    pub enabled: bool,
    /// Seconds a receiver has to answer (connect included).
    pub timeout_secs: u64,
    /// Bytes of a receiver's answer read (and kept in the log, cut to 500 characters).
    pub max_response_bytes: usize,
    /// Seconds to wait after each failed attempt, in order; after the last, the event is given
    /// up. Each wait is spread by ±`jitter_percent`. The default spans about a day.
    pub retry_schedule_secs: Vec<u64>,
    pub jitter_percent: u8,
    /// Consecutive failed attempts (any event) after which the endpoint is disabled and the
    /// dealership's principals (the admins, for a platform endpoint) are mailed. 0: never.
    pub disable_after_failures: u32,
    /// Seconds the secret before a rotation still signs (both signatures are sent).
    pub secret_overlap_secs: u64,
    /// Deliveries in flight at once on this replica.
    pub concurrency: usize,
    /// Seconds between looks at the outbox when no notice wakes the sender.
    pub poll_interval_secs: u64,
    /// Endpoint URLs may be `http://` (dev and tests only: prod refuses it).
    pub allow_http: bool,
    /// Receivers may be on loopback addresses (127.0.0.0/8, ::1) (prod refuses it).
    pub allow_loopback: bool,
    /// Receivers may be on private addresses (10/8, 172.16/12, 192.168/16, fc00::/7, CGNAT
    /// 100.64/10): for receivers inside the operator's network. Link-local and metadata
    /// addresses are refused whatever this says.
    pub allow_private: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_secs: 5,
            max_response_bytes: 64 * 1024,
            // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27 hours in all
            retry_schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            jitter_percent: 20,
            disable_after_failures: 20,
            secret_overlap_secs: 24 * 3600,
            concurrency: 16,
            poll_interval_secs: 5,
            allow_http: false,
            allow_loopback: false,
            allow_private: false,
        }
    }
}

impl WebhookSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_interval_secs.max(1))
    }

    /// How long a claimed event stays this replica's: well past the timeout, so a slow
    /// receiver is not sent the same event by another replica meanwhile.
    pub fn lease(&self) -> Duration {
        self.timeout() * 3 + Duration::from_secs(5)
    }

    /// The wait after the `attempts`-th failure, jittered; `None`: give up.
    pub fn retry_after(&self, attempts: u32) -> Option<Duration> {
        let base = *self
            .retry_schedule_secs
            .get(attempts.saturating_sub(1) as usize)?;
        let spread = f64::from(self.jitter_percent.min(100)) / 100.0;
        let factor = 1.0 + spread * (rand::random::<f64>() * 2.0 - 1.0);
        Some(Duration::from_secs_f64(base as f64 * factor))
    }

    /// What is wrong in any profile.
    pub(super) fn problems(&self) -> Option<String> {
        if self.timeout_secs == 0 || self.timeout_secs > 60 {
            return Some("webhooks.timeout_secs must be 1..=60".into());
        }
        if self.concurrency == 0 {
            return Some("webhooks.concurrency must be at least 1".into());
        }
        None
    }

    /// What prod refuses: plain HTTP and loopback receivers.
    pub(super) fn insecure_in_prod(&self) -> Option<String> {
        if self.allow_http {
            return Some("webhooks.allow_http is on: prod delivers over https only".into());
        }
        if self.allow_loopback {
            return Some(
                "webhooks.allow_loopback is on: a receiver on loopback is this pod itself".into(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_ends_and_jitter_stays_within_its_spread() {
        let s = WebhookSettings::default();
        for attempt in 1..=7 {
            let base = s.retry_schedule_secs[attempt - 1] as f64;
            let wait = s.retry_after(attempt as u32).unwrap().as_secs_f64();
            assert!(wait >= base * 0.8 - 0.001 && wait <= base * 1.2 + 0.001);
        }
        assert_eq!(s.retry_after(8), None);
        let total: u64 = s.retry_schedule_secs.iter().sum();
        assert!(
            (20 * 3600..=30 * 3600).contains(&total),
            "about a day: {total}"
        );
    }
}
