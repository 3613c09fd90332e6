//! Housekeeping in platform scope: tables that would only grow (login counters, ended sessions,
//! sent mail and spent tokens, and audit events past `audit.retention_days` when it is set) are
//! purged in bounded batches.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{
    config::{AuditSettings, LockoutSettings, MaintenanceSettings},
    error::AppError,
    tenancy::{Database, Scope},
};

/// A purge never runs more batches than this per table, however far behind it is.
const MAX_BATCHES: u32 = 100;

/// What one purge deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub login_counters: u64,
    pub sessions: u64,
    /// sent or given-up messages of the outbox
    pub mail: u64,
    /// ended or expired tokens that mail carried
    pub tokens: u64,
    /// audit events older than the retention (none when it is off)
    pub audit_events: u64,
}

/// Deletes login counters whose window has passed, sessions that ended more than the
/// retention ago, and the other tables' rows past theirs, each table in batches of `purge_batch_size`, each batch its own transaction.
pub async fn purge(
    db: &Database,
    maintenance: &MaintenanceSettings,
    lockout: &LockoutSettings,
    audit: &AuditSettings,
) -> Result<Purged, AppError> {
    let batch = maintenance.purge_batch_size.clamp(1, i32::MAX as u32) as i32;
    // quotas count over an hour (throttle::QUOTA_WINDOW_SECS): none is purged mid-window
    let window = lockout
        .window_secs
        .max(crate::auth::throttle::QUOTA_WINDOW_SECS)
        .min(i32::MAX as u64) as i32;
    let retention = maintenance.session_retention_secs as f64;
    let counters = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT auth_throttle_purge($1, $2)::bigint AS n",
        [window.into(), batch.into()],
    );
    let sessions = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH due AS ( \
             SELECT id FROM sessions \
             WHERE least(expires_at, absolute_expires_at, coalesce(revoked_at, 'infinity')) \
                   < now() - make_interval(secs => $1) \
             LIMIT $2 FOR UPDATE SKIP LOCKED) \
         , gone AS (DELETE FROM sessions s USING due WHERE s.id = due.id RETURNING 1) \
         SELECT count(*) AS n FROM gone",
        [retention.into(), batch.into()],
    );
    let kept = maintenance.mail_retention_secs as f64;
    let mail = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH due AS ( \
             SELECT id FROM mail_outbox \
             WHERE coalesce(sent_at, failed_at) < now() - make_interval(secs => $1) \
             LIMIT $2 FOR UPDATE SKIP LOCKED) \
         , gone AS (DELETE FROM mail_outbox m USING due WHERE m.id = due.id RETURNING 1) \
         SELECT count(*) AS n FROM gone",
        [kept.into(), batch.into()],
    );
    let tokens = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH due AS ( \
             SELECT id FROM account_tokens \
             WHERE least(expires_at, coalesce(ended_at, 'infinity')) \
                   < now() - make_interval(secs => $1) \
             LIMIT $2 FOR UPDATE SKIP LOCKED) \
         , gone AS (DELETE FROM account_tokens t USING due WHERE t.id = due.id RETURNING 1) \
         SELECT count(*) AS n FROM gone",
        [kept.into(), batch.into()],
    );
    Ok(Purged {
        login_counters: in_batches(db, &counters, batch).await?,
        sessions: in_batches(db, &sessions, batch).await?,
        mail: in_batches(db, &mail, batch).await?,
        tokens: in_batches(db, &tokens, batch).await?,
        audit_events: purge_audit(db, audit, batch).await?,
    })
}

/// Audit events older than `audit.retention_days`, through the one function that may delete
/// them (`audit_events_purge`, migration 000024: the log is append-only otherwise); nothing
/// when the retention is 0 (off).
async fn purge_audit(db: &Database, audit: &AuditSettings, batch: i32) -> Result<u64, AppError> {
    if audit.retention_days == 0 {
        return Ok(0);
    }
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT audit_events_purge(now() - make_interval(days => $1), $2)::bigint AS n",
        [
            (audit.retention_days.min(i32::MAX as u32) as i32).into(),
            batch.into(),
        ],
    );
    in_batches(db, &statement, batch).await
}

async fn in_batches(db: &Database, statement: &Statement, batch: i32) -> Result<u64, AppError> {
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let tx = db.begin(Scope::Platform).await?;
        let row = tx.query_one_raw(statement.clone()).await?;
        tx.commit().await?;
        let deleted = row.map_or(Ok(0), |row| row.try_get::<i64>("", "n"))?;
        total += deleted.max(0) as u64;
        if deleted < i64::from(batch) {
            break;
        }
    }
    Ok(total)
}

/// Purges every `purge_interval_secs` until aborted (a no-op task when the interval is 0).
pub fn spawn(
    db: Database,
    maintenance: MaintenanceSettings,
    lockout: LockoutSettings,
    audit: AuditSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if maintenance.purge_interval_secs == 0 {
            return;
        }
        let mut every = tokio::time::interval(Duration::from_secs(maintenance.purge_interval_secs));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match purge(&db, &maintenance, &lockout, &audit).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::info!(
                        login_counters = purged.login_counters,
                        sessions = purged.sessions,
                        mail = purged.mail,
                        tokens = purged.tokens,
                        audit_events = purged.audit_events,
                        "purged expired rows"
                    )
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "purge failed; retrying next interval"),
            }
        }
    })
}
