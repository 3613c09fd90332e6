//! The outbox as the senders see it (platform scope). The `webhook_emit` trigger writes events
//! in the transaction of their change; here they are numbered, leased and settled.
//!
//! **Sequence = commit order, per endpoint.** One replica at a time (a transaction-level
//! advisory lock; the others skip the pass) numbers the committed rows that have no number yet,
//! in one statement: a row a pass sees committed before that pass's snapshot, so before every
//! row a later pass numbers. Rows found by the same pass are numbered in insertion order (for
//! writes of one caller one after another, their commit order). The pass stamps
//! `committed_at` with its own time: the commit as seen. Nothing a change writes waits on a
//! counter, so a dealership's writes do not serialize on its endpoint row.
//!
//! **Leases.** A sender claims due rows with `FOR UPDATE SKIP LOCKED` and moves their
//! `next_attempt_at` past the lease instead of holding a transaction across the request: a
//! replica that dies mid-delivery leaves the lease to run out, and another replica delivers
//! the event again, with the same `webhook-id`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use crate::{
    error::AppError,
    tenancy::{Database, Scope},
    webhooks::client::Outcome,
};

/// Rows numbered per pass at most; a pass that fills it is followed by another at once.
pub const SEQUENCE_BATCH: i64 = 5000;

const SEQUENCE: &str = "
WITH pending AS (
    SELECT id, endpoint_id, row_number() OVER (PARTITION BY endpoint_id ORDER BY ord) AS n
    FROM (SELECT id, endpoint_id, ord FROM webhook_events WHERE sequence IS NULL
          ORDER BY ord LIMIT $1) first_found
), counted AS (
    SELECT endpoint_id, count(*) AS n FROM pending GROUP BY endpoint_id
), bumped AS (
    UPDATE webhook_endpoints w SET last_sequence = w.last_sequence + c.n
    FROM counted c WHERE w.id = c.endpoint_id
    RETURNING w.id, w.last_sequence - c.n AS base
)
UPDATE webhook_events e SET sequence = b.base + p.n, committed_at = now()
FROM pending p JOIN bumped b ON b.id = p.endpoint_id
WHERE e.id = p.id";

/// Numbers what has committed since the last pass, if no other replica is doing it; how many
/// rows it numbered.
pub async fn sequence(db: &Database) -> Result<u64, AppError> {
    #[derive(FromQueryResult)]
    struct Locked {
        locked: bool,
    }
    let tx = db.begin(Scope::Platform).await?;
    let locked = Locked::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_try_advisory_xact_lock(hashtext('dealergate-webhook-sequencer')) AS locked",
    ))
    .one(&tx)
    .await?
    .is_some_and(|l| l.locked);
    if !locked {
        // another replica is numbering: this transaction rolls back as it drops
        return Ok(0);
    }
    let numbered = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SEQUENCE,
            [SEQUENCE_BATCH.into()],
        ))
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(numbered)
}

/// An event this replica has leased for one attempt, with its endpoint.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Claimed {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub sequence: i64,
    pub committed_at: DateTime<Utc>,
    /// including this one
    pub attempts: i32,
    pub url: String,
    pub secret_sealed: Vec<u8>,
    pub previous_sealed: Option<Vec<u8>>,
    pub previous_expires_at: Option<DateTime<Utc>>,
}

/// Leases up to `batch` numbered, due events of enabled endpoints for `lease`, and counts the
/// attempt. A failing event waits for its retry, so it holds nothing after it back.
pub async fn claim(db: &Database, batch: usize, lease: Duration) -> Result<Vec<Claimed>, AppError> {
    let tx = db.begin(Scope::Platform).await?;
    let claimed = Claimed::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH due AS ( \
             SELECT e.id FROM webhook_events e JOIN webhook_endpoints w ON w.id = e.endpoint_id \
             WHERE e.sequence IS NOT NULL AND e.delivered_at IS NULL AND e.failed_at IS NULL \
               AND e.next_attempt_at <= now() AND w.enabled \
             ORDER BY e.next_attempt_at, e.ord LIMIT $1 FOR UPDATE OF e SKIP LOCKED) \
         UPDATE webhook_events e SET next_attempt_at = now() + make_interval(secs => $2), \
                                     attempts = e.attempts + 1 \
         FROM due, webhook_endpoints w WHERE e.id = due.id AND w.id = e.endpoint_id \
         RETURNING e.id, e.endpoint_id, e.dealership_id, e.payload, e.sequence, e.committed_at, \
                   e.attempts, w.url, w.secret_sealed, w.previous_sealed, w.previous_expires_at",
        [
            (batch.min(10_000) as i64).into(),
            lease.as_secs_f64().into(),
        ],
    ))
    .all(&tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// What settling an attempt left the endpoint with: its run of failures, and whether it is
/// still enabled.
#[derive(Debug, FromQueryResult)]
pub struct Health {
    pub consecutive_failures: i32,
    pub enabled: bool,
}

/// Logs the attempt and settles the event: delivered; due again after `retry` (`None`: given
/// up). Returns the endpoint's health after it, in the same transaction `tx` (the caller may
/// disable the endpoint in it).
pub async fn settle(
    tx: &crate::tenancy::TenantTx,
    event: &Claimed,
    outcome: &Outcome,
    retry: Option<Duration>,
) -> Result<Health, AppError> {
    let run = |sql: &str, values: Vec<sea_orm::Value>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    };
    tx.execute_raw(run(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, dealership_id, attempt, status, \
                                         duration_ms, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            event.id.into(),
            event.endpoint_id.into(),
            event.dealership_id.into(),
            event.attempts.into(),
            outcome.status.map(i32::from).into(),
            (outcome.duration.as_millis().min(i32::MAX as u128) as i32).into(),
            outcome.error.clone().into(),
        ],
    ))
    .await?;
    let delivered = outcome.delivered();
    tx.execute_raw(run(
        "UPDATE webhook_events SET \
             delivered_at = CASE WHEN $2 THEN now() END, \
             last_error = $3, \
             next_attempt_at = CASE WHEN $2 OR $4::float8 IS NULL THEN next_attempt_at \
                                    ELSE now() + make_interval(secs => $4::float8) END, \
             failed_at = CASE WHEN NOT $2 AND $4::float8 IS NULL THEN now() END \
         WHERE id = $1",
        vec![
            event.id.into(),
            delivered.into(),
            outcome.error.clone().into(),
            retry.map(|r| r.as_secs_f64()).into(),
        ],
    ))
    .await?;
    let health = Health::find_by_statement(run(
        "UPDATE webhook_endpoints SET consecutive_failures = \
             CASE WHEN $2 THEN 0 ELSE consecutive_failures + 1 END \
         WHERE id = $1 RETURNING consecutive_failures, enabled",
        vec![event.endpoint_id.into(), delivered.into()],
    ))
    .one(tx)
    .await?;
    // the endpoint was deleted meanwhile: nothing more to do
    Ok(health.unwrap_or(Health {
        consecutive_failures: 0,
        enabled: false,
    }))
}

/// How long until the next numbered event is due (`None`: nothing pending), and whether rows
/// wait for a number.
#[derive(Debug, FromQueryResult)]
pub struct Pending {
    pub next_due_secs: Option<f64>,
    pub unnumbered: bool,
}

pub async fn pending(db: &Database) -> Result<Pending, AppError> {
    let tx = db.begin_reading(Scope::Platform).await?;
    let pending = Pending::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        // NULL when nothing is pending (`greatest(NULL, 0)` would be 0: "due now"); a row due
        // already gives a negative wait, which the sender takes as none
        "SELECT (SELECT extract(epoch FROM min(e.next_attempt_at) - now())::float8 \
                 FROM webhook_events e JOIN webhook_endpoints w ON w.id = e.endpoint_id \
                 WHERE e.sequence IS NOT NULL AND e.delivered_at IS NULL \
                   AND e.failed_at IS NULL AND w.enabled) AS next_due_secs, \
                EXISTS (SELECT 1 FROM webhook_events WHERE sequence IS NULL) AS unnumbered",
    ))
    .one(&tx)
    .await?
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("the pending query returned no row")))?;
    tx.commit().await?;
    Ok(pending)
}
