//! What is measured: Prometheus metrics, served at `/metrics` in the text format.
//!
//! One registry per process (replicas are processes); names follow Prometheus conventions.

use std::sync::OnceLock;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// by `route` (template), `method`, `status`
    pub http_requests: IntCounterVec,
    /// by `route`, `method`, `status`
    pub http_duration: HistogramVec,
    /// by `outcome` (success, failure, locked, unverified) and `by` (email, phone)
    pub logins: IntCounterVec,
    /// by `outcome`: rotated, grace, reuse_detected, refused
    pub refreshes: IntCounterVec,
    /// by `event`: enrolled, removed, reset, verified, verification_failed, recovery_code_used,
    /// step_up
    pub mfa: IntCounterVec,
    /// by `kind`: session, user, dealership, profile
    pub revocations_published: IntCounterVec,
    pub revocations_received: IntCounterVec,
    /// by `outcome`: ok, failed
    pub policy_reloads: IntCounterVec,
    /// 1 for the `hash` of the policy in force
    pub policy_info: IntGaugeVec,
    /// by `result`: hit, miss
    pub authz_cache: IntCounterVec,
    /// by `result`: hit, miss (a miss reads the database)
    pub profile_cache: IntCounterVec,
    /// by `state`: in_use, idle
    pub db_connections: IntGaugeVec,
    pub db_errors: IntCounter,
    /// argon2 hashes being computed now (at most the hashing workers)
    pub password_hashes_in_flight: IntGauge,
    /// argon2 hashes waiting for a worker (at most `auth.hashing.queue`)
    pub password_hashes_queued: IntGauge,
    /// argon2 hashes computed to the end (a hash skipped because its caller went away is not)
    pub password_hashes: IntCounter,
    /// VmRSS of this process, read when the metrics are rendered
    pub resident_memory: IntGauge,
    /// by `kind` (password_reset, …): accepted by the SMTP server (or written to the file outbox)
    pub mail_sent: IntCounterVec,
    /// by `kind`: failed attempts that will be retried
    pub mail_retried: IntCounterVec,
    /// by `kind`: messages given up after the last attempt
    pub mail_failed: IntCounterVec,
    /// messages waiting to be sent, as this replica's sender last saw the queue
    pub mail_queue_depth: IntGauge,
    /// age in seconds of the oldest waiting message (0 when none waits)
    pub mail_oldest_age: IntGauge,
    /// active people (platform-wide) with a second factor, over all active people; set by the
    /// maintenance task. No per-dealership label: per dealership is the API's (cardinality)
    pub mfa_coverage_ratio: Gauge,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric =
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn plain_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn plain_gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

/// The process's metrics. The definitions are constants, so building them cannot fail.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let r = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "dealergate_http_request_duration_seconds",
                "HTTP request latency.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method", "status"],
        )
        .expect("valid metric definition");
        r.register(Box::new(http_duration.clone()))
            .expect("metric registered once");
        let db_errors = IntCounter::new(
            "dealergate_db_query_errors_total",
            "Database errors other than being unreachable.",
        )
        .expect("valid metric definition");
        r.register(Box::new(db_errors.clone()))
            .expect("metric registered once");
        Metrics {
            http_requests: counter(
                &r,
                "dealergate_http_requests_total",
                "HTTP requests answered.",
                &["route", "method", "status"],
            ),
            http_duration,
            logins: counter(
                &r,
                "dealergate_logins_total",
                "Login attempts by outcome and by what they signed in with (email or phone).",
                &["outcome", "by"],
            ),
            refreshes: counter(
                &r,
                "dealergate_refreshes_total",
                "Refresh-token uses by outcome.",
                &["outcome"],
            ),
            mfa: counter(
                &r,
                "dealergate_mfa_events_total",
                "Second-factor events: enrolments, removals, resets, verifications and their failures, recovery codes used, step-ups.",
                &["event"],
            ),
            revocations_published: counter(
                &r,
                "dealergate_revocations_published_total",
                "Revocations announced to the replicas.",
                &["kind"],
            ),
            revocations_received: counter(
                &r,
                "dealergate_revocations_received_total",
                "Revocation notices applied by this replica.",
                &["kind"],
            ),
            policy_reloads: counter(
                &r,
                "dealergate_policy_reloads_total",
                "Policy reload attempts by outcome.",
                &["outcome"],
            ),
            policy_info: gauge(
                &r,
                "dealergate_policy_info",
                "The policy in force (1 for its hash).",
                &["hash"],
            ),
            authz_cache: counter(
                &r,
                "dealergate_authz_cache_total",
                "Authorization decisions by cache result.",
                &["result"],
            ),
            profile_cache: counter(
                &r,
                "dealergate_profile_cache_total",
                "Profile lookups (`/auth/me`) by cache result.",
                &["result"],
            ),
            db_connections: gauge(
                &r,
                "dealergate_db_pool_connections",
                "Pooled database connections by state.",
                &["state"],
            ),
            db_errors,
            password_hashes_in_flight: plain_gauge(
                &r,
                "dealergate_password_hashes_in_flight",
                "Password hashes being computed by the hashing workers.",
            ),
            password_hashes_queued: plain_gauge(
                &r,
                "dealergate_password_hashes_queued",
                "Password hashes waiting for a hashing worker.",
            ),
            password_hashes: plain_counter(
                &r,
                "dealergate_password_hashes_total",
                "Password hashes computed (argon2 runs completed).",
            ),
            resident_memory: plain_gauge(
                &r,
                "dealergate_process_resident_memory_bytes",
                "Resident memory of the process (VmRSS).",
            ),
            mail_sent: counter(
                &r,
                "dealergate_mail_sent_total",
                "Messages delivered to the SMTP server (or the dev file outbox).",
                &["kind"],
            ),
            mail_retried: counter(
                &r,
                "dealergate_mail_retried_total",
                "Failed delivery attempts that will be retried.",
                &["kind"],
            ),
            mail_failed: counter(
                &r,
                "dealergate_mail_failed_total",
                "Messages given up after their last delivery attempt.",
                &["kind"],
            ),
            mail_queue_depth: plain_gauge(
                &r,
                "dealergate_mail_queue_depth",
                "Messages waiting in the outbox.",
            ),
            mail_oldest_age: plain_gauge(
                &r,
                "dealergate_mail_oldest_age_seconds",
                "Age of the oldest message waiting in the outbox.",
            ),
            mfa_coverage_ratio: {
                let metric = Gauge::new(
                    "dealergate_mfa_coverage_ratio",
                    "Share of active people platform-wide with a second factor (0 to 1).",
                )
                .expect("valid metric definition");
                r.register(Box::new(metric.clone()))
                    .expect("metric registered once");
                metric
            },
            registry: r,
        }
    })
}

impl Metrics {
    /// The text exposition, after refreshing the pool gauges with `(in use, idle)`.
    pub fn render(&self, pool: (u64, u64)) -> String {
        self.db_connections
            .with_label_values(&["in_use"])
            .set(pool.0 as i64);
        self.db_connections
            .with_label_values(&["idle"])
            .set(pool.1 as i64);
        if let Some(bytes) = resident_memory_bytes() {
            self.resident_memory.set(bytes as i64);
        }
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%err, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    pub fn policy_loaded(&self, hash: &str) {
        self.policy_info.reset();
        self.policy_info.with_label_values(&[hash]).set(1);
    }
}

/// VmRSS from `/proc/self/status` (Linux), in bytes.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss(&status)
}

fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    // "VmRSS:     26112 kB"
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_proc_status() {
        let status = "Name:\tdealergate\nVmHWM:\t  30000 kB\nVmRSS:\t   26112 kB\nThreads:\t9\n";
        assert_eq!(vm_rss(status), Some(26112 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
        if cfg!(target_os = "linux") {
            assert!(resident_memory_bytes().is_some_and(|b| b > 1024 * 1024));
        }
    }

    #[test]
    fn the_hashing_and_memory_gauges_are_exported() {
        let text = metrics().render((0, 0));
        for name in [
            "dealergate_password_hashes_in_flight",
            "dealergate_password_hashes_queued",
            "dealergate_process_resident_memory_bytes",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} gauge")),
                "{name} in {text}"
            );
        }
        assert!(
            text.contains("# TYPE dealergate_password_hashes_total counter"),
            "{text}"
        );
    }
}
