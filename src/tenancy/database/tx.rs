//! The tenant transaction: one pooled connection, inside a transaction that began already in
//! its scope, with SeaORM's [`ConnectionTrait`] on top so services query it like any other.
//!
//! Why not SeaORM's own `DatabaseTransaction`: it sends a bare `BEGIN` and waits for it, so the
//! role and tenant cost a second round trip before the first query. Here `BEGIN` and the scope
//! are one simple-protocol message ([`Database::begin`](super::Database::begin)), and a short
//! read costs two round trips before its answer (begin, query) and one after it: a read-only
//! transaction's `ROLLBACK` goes out with the pool's check of the returned connection.
//!
//! A reading transaction begins on its first statement, not before: one whose first statement
//! is a [`rows`](TenantTx::rows) read needs no connection of this pool at all (the read goes
//! out in one round trip, [`super::pipelined`]), and one that never queries costs nothing.

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement,
    sea_query::Values,
    sqlx::{self, AssertSqlSafe, Executor, PgConnection, Postgres, pool::PoolConnection},
};
use sea_query_sqlx::SqlxValues;
use sqlx_core::transaction::TransactionManager;
use tokio::{
    sync::{MappedMutexGuard, Mutex, MutexGuard},
    time::timeout,
};

use super::{Database, Scope, row::Row};
use crate::error::{AppError, is_connection_failure};

type Manager = sqlx::postgres::PgTransactionManager;

/// A transaction bound to one [`Scope`]. Services take `&TenantTx` (or
/// `&impl ConnectionTrait`); dropping it without [`commit`](Self::commit) rolls back (the
/// `ROLLBACK` is queued on the connection and goes out with the pool's check on its return).
pub struct TenantTx {
    /// `None`: a reading transaction that has not run a statement yet (nothing begun).
    conn: Mutex<Option<PoolConnection<Postgres>>>,
    phase: Phase,
    scope: Scope,
    /// The pool, to settle a lost commit on another connection.
    db: Database,
    writes: Writes,
}

/// Where the transaction is, which decides what its drop must do with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ours to roll back.
    Open,
    /// `COMMIT` sent, its answer not (yet) read: the connection's state is unknown.
    Committing,
    /// Committed: the connection is clean.
    Done,
}

/// A pooled connection while its `BEGIN` is in flight: dropped before the answer was read (a
/// timeout, a client gone), the connection is closed, never returned half-begun.
struct Opening(Option<PoolConnection<Postgres>>);

impl Drop for Opening {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.0 {
            conn.close_on_drop();
        }
    }
}

/// `conn` with `begin` (a simple-protocol `BEGIN; …` that enters the scope) done. A connection
/// whose begin failed or was abandoned is closed, not returned: it may sit in an aborted block,
/// or in a transaction the pool does not know of.
pub(super) async fn begun(
    conn: PoolConnection<Postgres>,
    begin: String,
) -> Result<PoolConnection<Postgres>, DbErr> {
    let statement = sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(begin));
    let mut opening = Opening(Some(conn));
    if let Some(conn) = opening.0.as_mut() {
        Manager::begin(conn, Some(statement))
            .await
            .map_err(query_err)?;
    }
    let Some(conn) = opening.0.take() else {
        unreachable!("the connection is taken only here")
    };
    Ok(conn)
}

/// Whether a transaction may write, which decides what its commit must settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writes {
    Maybe,
    Never,
}

impl TenantTx {
    /// A transaction begun on `conn` ([`begun`]).
    pub(super) fn begun(
        conn: PoolConnection<Postgres>,
        scope: Scope,
        db: Database,
        writes: Writes,
    ) -> Self {
        Self {
            conn: Mutex::new(Some(conn)),
            phase: Phase::Open,
            scope,
            db,
            writes,
        }
    }

    /// A reading transaction that begins on its first statement.
    pub(super) fn reading(scope: Scope, db: Database) -> Self {
        Self {
            conn: Mutex::new(None),
            phase: Phase::Open,
            scope,
            db,
            writes: Writes::Never,
        }
    }

    /// The connection, begun first if this reading transaction has not begun yet.
    async fn conn(&self) -> Result<MappedMutexGuard<'_, PoolConnection<Postgres>>, DbErr> {
        let mut conn = self.conn.lock().await;
        if conn.is_none() {
            let begun = self.db.connect_in(self.scope, self.writes).await;
            *conn = Some(begun.map_err(|err| match err {
                // a lost or refused database stays a 503; anything else keeps its cause
                AppError::Unavailable(why) => DbErr::Conn(RuntimeErr::Internal(why)),
                other => DbErr::Custom(format!("{:#}", anyhow::Error::from(other))),
            })?);
        }
        Ok(MutexGuard::map(conn, |conn| {
            conn.as_mut().expect("a connection was just begun")
        }))
    }

    /// `statement`'s rows, read by column index. A reading transaction's first statement goes
    /// out in one round trip when it can (its own transaction of the same scope, opened and
    /// ended with it: under READ COMMITTED each statement has its own snapshot anyway);
    /// otherwise, and in a transaction that writes, it runs in this transaction.
    pub async fn rows(&self, statement: Statement) -> Result<Vec<Row>, DbErr> {
        if let Some(pipelined) = self
            .db
            .pipelined
            .as_ref()
            .filter(|_| self.writes == Writes::Never)
            && self.conn.lock().await.is_none()
            && let Some(read) = pipelined.rows(self.scope, &statement, self.db.within).await
        {
            return Ok(read?.into_iter().map(Row::Pipelined).collect());
        }
        let rows = self.query_all_raw(statement).await?;
        Ok(rows.into_iter().map(Row::Pooled).collect())
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Commits, and answers `Ok` only if the transaction is durable.
    ///
    /// The ambiguous case: the connection breaks after `COMMIT` was sent, so PostgreSQL may
    /// have committed without us seeing the acknowledgement. Answering 503 then could leave a
    /// change (a new user, its audit event) that the client was told failed; answering 201
    /// blindly could report one that never happened. So a transaction that wrote (it has a
    /// transaction id, fetched just before `COMMIT`) asks PostgreSQL on another connection how
    /// it ended (`pg_xact_status`): committed → `Ok`, aborted → 503. Still in progress means
    /// its backend has not noticed the lost client (or is still committing): after a grace
    /// period that backend is ended, which makes the outcome final either way. Only when the
    /// database cannot be asked within the bound does the answer stay unknown: then 503, logged
    /// as an error with the transaction id, and a retried create meets a 409 if it did commit.
    /// A transaction that wrote nothing has nothing to lose: its failed commit is a plain 503.
    /// One opened with [`Database::begin_reading`] (`READ ONLY`: a write in it fails loudly)
    /// is not committed at all: ending it is rolling it back.
    pub async fn commit(mut self) -> Result<(), AppError> {
        let within = self.db.within;
        if self.writes == Writes::Never {
            // READ ONLY: there is nothing to make durable, so no round trip is waited for. The
            // drop queues `ROLLBACK`, which reaches the server together with the pool's check
            // of the returned connection (one round trip, after the answer has gone).
            return Ok(());
        }
        let lost = || AppError::Unavailable("database connection lost before COMMIT".into());
        // costs one round trip; NULL for a transaction that wrote nothing
        let (xid, pid) = match timeout(within, self.query_one_raw(current_xid())).await {
            Ok(Ok(row)) => (
                row.as_ref()
                    .and_then(|r| r.try_get::<Option<String>>("", "xid").ok().flatten()),
                row.and_then(|r| r.try_get::<i32>("", "backend_pid").ok()),
            ),
            Ok(Err(err)) => return Err(err.into()),
            Err(_) => return Err(lost()),
        };
        let failure = match timeout(within, self.finish()).await {
            Ok(Ok(())) => return Ok(()),
            // the server answered: it did not commit (a deferred constraint, say)
            Ok(Err(err)) if !is_connection_failure(&err) => return Err(err.into()),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "no answer to COMMIT".to_owned(),
        };
        match xid {
            None => Err(AppError::Unavailable(format!("database: {failure}"))),
            Some(xid) => self.db.settle(&xid, pid, &failure).await,
        }
    }

    /// Sends `COMMIT`. Whatever happens, the transaction is no longer ours to roll back: a
    /// connection whose commit failed, timed out or was abandoned is closed on drop.
    async fn finish(&mut self) -> Result<(), DbErr> {
        let Some(conn) = self.conn.get_mut() else {
            return Ok(()); // nothing began
        };
        self.phase = Phase::Committing;
        Manager::commit(conn).await.map_err(exec_err)?;
        self.phase = Phase::Done;
        Ok(())
    }
}

impl Drop for TenantTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.get_mut() else {
            return; // nothing began
        };
        match self.phase {
            Phase::Open => Manager::start_rollback(conn),
            Phase::Committing => conn.close_on_drop(),
            Phase::Done => {}
        }
    }
}

/// Driver errors as SeaORM's own driver reports them (its converters are private), so
/// [`is_connection_failure`] and the duplicate-key check read them alike.
pub(super) fn exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(err.into()))
}

pub(super) fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(err.into()))
}

fn current_xid() -> Statement {
    Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid",
    )
}

/// The statement with its values bound, as SeaORM's own driver binds them.
fn bound(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for TenantTx {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn().await?;
        let conn: &mut PgConnection = &mut conn;
        bound(&stmt)
            .execute(conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn().await?;
        let conn: &mut PgConnection = &mut conn;
        conn.execute(AssertSqlSafe(sql.to_owned()))
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.conn().await?;
        let conn: &mut PgConnection = &mut conn;
        bound(&stmt)
            .fetch_optional(conn)
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.conn().await?;
        let conn: &mut PgConnection = &mut conn;
        bound(&stmt)
            .fetch_all(conn)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}
