//! Settling a commit whose answer was lost: ask PostgreSQL on another connection how the
//! transaction ended, and end its backend if it is still in progress after a grace period.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use tokio::time::{Duration, Instant, sleep, timeout_at};

use super::Database;
use crate::error::{AppError, is_connection_failure};

/// How transaction `xid` ended, as far as PostgreSQL knows now.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Committed,
    Aborted,
    InProgress,
    /// Too old to be known (NULL), or unreadable.
    Unknown,
}

impl Database {
    /// Finds out whether transaction `xid`, whose `COMMIT` went unanswered, committed.
    pub(super) async fn settle(
        &self,
        xid: &str,
        pid: Option<i32>,
        failure: &str,
    ) -> Result<(), AppError> {
        let started = Instant::now();
        // twice the usual bound: the first half waits for the old backend to finish by itself
        let deadline = started + 2 * self.within;
        let mut ended_backend = false;
        loop {
            match timeout_at(deadline, self.outcome(xid)).await {
                Ok(Ok(Outcome::Committed)) => {
                    tracing::warn!(xid, failure, "COMMIT went unanswered but had committed");
                    return Ok(());
                }
                Ok(Ok(Outcome::Aborted)) => {
                    return Err(AppError::Unavailable(format!(
                        "database: {failure} (rolled back)"
                    )));
                }
                Ok(Ok(Outcome::InProgress))
                    if !ended_backend && started.elapsed() > self.within =>
                {
                    ended_backend = true;
                    if let Some(pid) = pid {
                        let _ = timeout_at(deadline, self.end_backend(pid, xid)).await;
                    }
                }
                Ok(Ok(Outcome::InProgress)) => {}
                Ok(Ok(Outcome::Unknown)) => break,
                Ok(Err(err)) if is_connection_failure(&err) => {}
                Ok(Err(err)) => {
                    tracing::error!(xid, %err, "cannot ask how a transaction ended");
                    break;
                }
                Err(_) => break,
            }
            if timeout_at(deadline, sleep(Duration::from_millis(20)))
                .await
                .is_err()
            {
                break;
            }
        }
        tracing::error!(
            xid,
            failure,
            "the outcome of a COMMIT is unknown: the database could not be asked in time"
        );
        Err(AppError::Unavailable(format!(
            "database: {failure}; outcome unknown"
        )))
    }

    async fn outcome(&self, xid: &str) -> Result<Outcome, DbErr> {
        let tx = self.pinned().await?;
        let row = tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_xact_status($1::xid8) AS status",
                [xid.into()],
            ))
            .await?;
        tx.commit().await?;
        let status = row.and_then(|r| r.try_get::<Option<String>>("", "status").ok().flatten());
        Ok(match status.as_deref() {
            Some("committed") => Outcome::Committed,
            Some("aborted") => Outcome::Aborted,
            Some("in progress") => Outcome::InProgress,
            _ => Outcome::Unknown,
        })
    }

    /// Ends backend `pid` if it is still inside transaction `xid` (never a reused pid): its
    /// transaction then commits or aborts for good, and [`Self::outcome`] can tell which.
    async fn end_backend(&self, pid: i32, xid: &str) -> Result<(), DbErr> {
        let tx = self.pinned().await?;
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid = $1 AND backend_xid::text = ($2::numeric % 4294967296)::text",
            [pid.into(), xid.into()],
        ))
        .await?;
        tx.commit().await
    }
}
