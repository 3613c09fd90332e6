//! The pool, and the tenant transaction that is the only door to tenant tables.

use std::{ops::Deref, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    Statement, TransactionTrait, sqlx::postgres::PgConnectOptions,
};
use tokio::time::{Instant, sleep, timeout, timeout_at};

use super::Scope;
use crate::{
    config::DatabaseSettings,
    error::{AppError, is_connection_failure},
};

mod settle;

/// Switches role and tenant for the rest of the transaction only (`is_local = true`):
/// `set_config('role', …)` is `SET LOCAL ROLE` with a bind parameter. The backend's pid comes
/// along for free, for settling a commit whose answer was lost ([`TenantTx::commit`]).
pub const ENTER_SCOPE: &str = "SELECT set_config('role', $1, true), \
     set_config('app.dealership_id', $2, true), pg_backend_pid() AS backend_pid";

/// The connection pool. Its connection is private to `tenancy`: request code gets a
/// [`TenantTx`], never the pool, so a forgotten tenant cannot read every tenant.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    /// How long a round trip that should be instant (`BEGIN`, `COMMIT`) may take before the
    /// database counts as unreachable: the acquire timeout, so a silent database (no reset,
    /// no answer) fails as fast as a refusing one.
    within: Duration,
    /// `database.transaction_pooling`: the pool reaches PostgreSQL through PgBouncer in
    /// transaction mode, so a transaction must not rely on what earlier ones left on "its"
    /// server connection, nor leave anything there ([`Self::try_begin`]).
    pooled: Option<Pooled>,
}

/// What a transaction through a transaction pooler does instead of relying on the session.
#[derive(Clone, Copy)]
struct Pooled {
    /// `statement_timeout` in milliseconds, set per transaction (0 = none).
    statement_timeout_ms: u128,
}

/// Drops every named prepared statement of the server connection. Through a transaction
/// pooler the connection is shared: without a statement cache sqlx still names each statement
/// it prepares (`sqlx_s_1`, `sqlx_s_2`, … counted per client connection) and never closes it,
/// so another client's leftovers would make our next `Parse` fail ("prepared statement
/// "sqlx_s_1" already exists"). `DEALLOCATE` may run inside a transaction block.
const DROP_PREPARED: &str = "DEALLOCATE ALL";

impl Database {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        let pooled = settings.transaction_pooling.then(|| Pooled {
            statement_timeout_ms: Duration::from_secs(settings.statement_timeout_secs).as_millis(),
        });
        let mut options = if pooled.is_some() {
            // a cached statement would be bound on whichever server connection the next
            // transaction gets, where it is missing or another client's statement
            connect_options_with(settings.url.expose(), |o| o.statement_cache_capacity(0))
        } else {
            connect_options(settings.url.expose())
        };
        options
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout())
            .connect_timeout(settings.connect_timeout())
            // the default ping on every checkout doubles the cost of a short transaction
            .test_before_acquire(false)
            .sqlx_logging(false);
        // PgBouncer refuses the startup parameter that carries it; pooled, it is set per
        // transaction instead
        if settings.statement_timeout_secs > 0 && pooled.is_none() {
            options.statement_timeout(Duration::from_secs(settings.statement_timeout_secs));
        }
        Ok(Self {
            conn: sea_orm::Database::connect(options).await?,
            within: settings.acquire_timeout(),
            pooled,
        })
    }

    /// Opens a transaction for `scope`: in one statement it switches to the runtime role and
    /// sets the tenant, both transaction-local, so nothing survives on the pooled connection.
    ///
    /// Bounded by the acquire timeout as a whole. A pooled connection that died since its last
    /// use (the pool does not ping on checkout) fails at once; nothing has run yet, so the
    /// transaction is opened again on another one.
    pub async fn begin(&self, scope: Scope) -> Result<TenantTx, AppError> {
        self.open(scope, Writes::Maybe).await
    }

    /// [`begin`](Self::begin) for a transaction that only reads: its commit skips the round
    /// trip that settles a lost commit, as a read has nothing to lose.
    pub async fn begin_reading(&self, scope: Scope) -> Result<TenantTx, AppError> {
        self.open(scope, Writes::Never).await
    }

    async fn open(&self, scope: Scope, writes: Writes) -> Result<TenantTx, AppError> {
        let deadline = Instant::now() + self.within;
        let unreachable = || AppError::Unavailable("database did not open a transaction".into());
        // a dead pooled connection is replaced at once; a refusing or full server is not
        // hammered: the pause doubles from 10 ms up to 200 ms
        let mut pause = Duration::from_millis(5);
        loop {
            match timeout_at(deadline, self.try_begin(scope, writes)).await {
                Ok(Ok(tx)) => return Ok(tx),
                Ok(Err(err)) if is_connection_failure(&err) && Instant::now() < deadline => {
                    tracing::debug!(%err, "a pooled connection was dead; opening another");
                    pause = (pause * 2).min(Duration::from_millis(200));
                    if timeout_at(deadline, sleep(pause)).await.is_err() {
                        return Err(err.into());
                    }
                }
                Ok(Err(err)) => return Err(err.into()),
                Err(_) => return Err(unreachable()),
            }
        }
    }

    async fn try_begin(&self, scope: Scope, writes: Writes) -> Result<TenantTx, DbErr> {
        let tx = self.conn.begin().await?;
        let (role, tenant) = scope.role_and_tenant();
        let backend_pid = match self.pooled {
            // one round trip as well: the simple protocol takes the clean-up and the scope in
            // one message (a bound statement would cost a Parse and a Bind round trip here);
            // the backend's pid comes with the commit's transaction id instead
            Some(pooled) => {
                tx.execute_unprepared(&pooled.enter_scope(role, &tenant))
                    .await?;
                None
            }
            None => {
                let entered = tx
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        ENTER_SCOPE,
                        [role.into(), tenant.into()],
                    ))
                    .await?;
                entered.and_then(|row| row.try_get::<i32>("", "backend_pid").ok())
            }
        };
        Ok(TenantTx {
            tx,
            scope,
            db: self.clone(),
            backend_pid,
            writes,
        })
    }

    /// A round trip to the server, bounded so a probe never hangs.
    pub async fn ping(&self, within: Duration) -> Result<(), AppError> {
        match tokio::time::timeout(within, self.conn.ping()).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(AppError::Unavailable(
                "database did not answer in time".into(),
            )),
        }
    }

    /// `(in use, idle)` connections of the pool, for the metrics.
    pub fn pool_stats(&self) -> (u64, u64) {
        let pool = self.conn.get_postgres_connection_pool();
        let idle = pool.num_idle() as u64;
        (u64::from(pool.size()).saturating_sub(idle), idle)
    }

    /// A transaction for catalog reads (posture checks) only: they touch no tenant table.
    /// Dropping it rolls back.
    pub(super) async fn catalog(&self) -> Result<DatabaseTransaction, DbErr> {
        self.pinned().await
    }

    /// A plain transaction, for the few statements outside a tenant transaction. Through a
    /// transaction pooler a statement outside any transaction is not safe: sqlx prepares it
    /// (`Parse`, `Sync`) before it binds and runs it (`Bind`, `Execute`, `Sync`), and the pooler
    /// may hand those two halves to different server connections.
    async fn pinned(&self) -> Result<DatabaseTransaction, DbErr> {
        let tx = self.conn.begin().await?;
        if self.pooled.is_some() {
            tx.execute_unprepared(DROP_PREPARED).await?;
        }
        Ok(tx)
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// A transaction bound to one [`Scope`]. Services take `&DatabaseTransaction` (through
/// `Deref`) or `&impl ConnectionTrait`; dropping it without [`commit`](Self::commit) rolls back.
pub struct TenantTx {
    tx: DatabaseTransaction,
    scope: Scope,
    /// The pool, to settle a lost commit on another connection.
    db: Database,
    backend_pid: Option<i32>,
    writes: Writes,
}

/// Whether a transaction may write, which decides what its commit must settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    Maybe,
    Never,
}

impl TenantTx {
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
    /// A transaction that wrote nothing has nothing to lose: its failed commit is a plain 503,
    /// and one opened with [`Database::begin_reading`] does not even ask.
    pub async fn commit(self) -> Result<(), AppError> {
        let TenantTx {
            tx,
            db,
            backend_pid,
            writes,
            ..
        } = self;
        let within = db.within;
        if writes == Writes::Never {
            return match timeout(within, tx.commit()).await {
                Ok(result) => Ok(result?),
                Err(_) => Err(AppError::Unavailable("no answer to COMMIT".into())),
            };
        }
        let lost = || AppError::Unavailable("database connection lost before COMMIT".into());
        // costs one round trip; NULL for a transaction that wrote nothing
        let (xid, pid) = match timeout(within, tx.query_one_raw(current_xid())).await {
            Ok(Ok(row)) => (
                row.as_ref()
                    .and_then(|r| r.try_get::<Option<String>>("", "xid").ok().flatten()),
                row.and_then(|r| r.try_get::<i32>("", "backend_pid").ok()),
            ),
            Ok(Err(err)) => return Err(err.into()),
            Err(_) => return Err(lost()),
        };
        let backend_pid = backend_pid.or(pid);
        let failure = match timeout(within, tx.commit()).await {
            Ok(Ok(())) => return Ok(()),
            // the server answered: it did not commit (a deferred constraint, say)
            Ok(Err(err)) if !is_connection_failure(&err) => return Err(err.into()),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "no answer to COMMIT".to_owned(),
        };
        match xid {
            None => Err(AppError::Unavailable(format!("database: {failure}"))),
            Some(xid) => db.settle(&xid, backend_pid, &failure).await,
        }
    }
}

fn current_xid() -> Statement {
    Statement::from_string(
        DbBackend::Postgres,
        "SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid",
    )
}

impl Deref for TenantTx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

impl Pooled {
    /// The pooled counterpart of [`ENTER_SCOPE`], for the simple protocol (no parameters):
    /// the clean-up first, then role, tenant and statement timeout, all transaction-local.
    fn enter_scope(self, role: &str, tenant: &str) -> String {
        let mut sql = format!(
            "{DROP_PREPARED}; SELECT set_config('role', {}, true), \
             set_config('app.dealership_id', {}, true)",
            literal(role),
            literal(tenant)
        );
        if self.statement_timeout_ms > 0 {
            sql.push_str(&format!(
                ", set_config('statement_timeout', '{}', true)",
                self.statement_timeout_ms
            ));
        }
        sql
    }
}

/// A string literal (role names and uuids in practice): quotes doubled, as PostgreSQL reads
/// them with `standard_conforming_strings` (on since 9.1).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Options for `url` that never show its password: SeaORM records its connect options (the
/// URL included) in a tracing span, so the password goes to the driver separately.
pub fn connect_options(url: &str) -> ConnectOptions {
    connect_options_with(url, |o| o)
}

/// [`connect_options`] with more driver options (SeaORM keeps one driver-options function, so
/// the password and these go in together).
fn connect_options_with(
    url: &str,
    more: impl Fn(PgConnectOptions) -> PgConnectOptions + Send + Sync + 'static,
) -> ConnectOptions {
    let (url, password) = split_password(url);
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    options.map_sqlx_postgres_opts(move |o| match &password {
        Some(password) => more(o.password(password)),
        None => more(o),
    });
    options
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `Some(secret)`), decoded.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_owned(), None);
    };
    let password = parsed.password().map(|p| {
        url::form_urlencoded::parse(format!("p={p}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| p.to_owned())
    });
    if password.is_some() && parsed.set_password(None).is_err() {
        return (url.to_owned(), None);
    }
    (parsed.to_string(), password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pooled_scope_is_one_simple_query_with_quoted_literals() {
        let pooled = Pooled {
            statement_timeout_ms: 15_000,
        };
        assert_eq!(
            pooled.enter_scope("dealergate_app", "0193a5f0-0000-7000-8000-000000000001"),
            "DEALLOCATE ALL; SELECT set_config('role', 'dealergate_app', true), \
             set_config('app.dealership_id', '0193a5f0-0000-7000-8000-000000000001', true), \
             set_config('statement_timeout', '15000', true)"
        );
        let no_timeout = Pooled {
            statement_timeout_ms: 0,
        };
        assert!(
            !no_timeout
                .enter_scope("r", "")
                .contains("statement_timeout")
        );
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn the_password_is_taken_out_of_the_url() {
        let (url, password) =
            split_password("postgres://app:s%40cret@db:5432/dealergate?sslmode=require");
        assert_eq!(url, "postgres://app@db:5432/dealergate?sslmode=require");
        assert_eq!(password.as_deref(), Some("s@cret"));
        assert_eq!(
            split_password("postgres://app@db/x"),
            ("postgres://app@db/x".into(), None)
        );
    }
}
