//! The pool, and the tenant transaction that is the only door to tenant tables.

use std::time::Duration;

use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, RuntimeErr, TransactionTrait,
    sqlx::{
        self, Postgres,
        pool::PoolConnection,
        postgres::{PgConnectOptions, PgPool},
    },
};
use tokio::time::{Instant, sleep, timeout_at};

use super::Scope;
use crate::{
    config::DatabaseSettings,
    error::{AppError, is_connection_failure},
};

mod pipelined;
mod row;
mod settle;
mod tx;

use pipelined::Pipelined;
pub use row::Row;
pub use tx::TenantTx;
use tx::Writes;

/// Switches role and tenant for the rest of the transaction only (`is_local = true`):
/// `set_config('role', …)` is `SET LOCAL ROLE` with a bind parameter. `$1` the role, `$2` the
/// dealership, `$3` the group (empty: none). [`ENTER_SET`] follows it. (A tenant transaction
/// sends both with literals, in one message with its `BEGIN`: [`Database::begin`].)
pub const ENTER_SCOPE: &str = "SELECT set_config('role', $1, true), \
     set_config('app.dealership_id', $2, true), set_config('app.group_id', $3, true)";

/// The set of dealerships RLS matches tenant rows against, `app.dealership_ids`: the one
/// dealership, or the group's live dealerships as they are now (`group_dealerships`). A
/// statement of its own after [`ENTER_SCOPE`]: PostgreSQL checks the right to call a function
/// as a statement starts, and only after the first one is the transaction's role the runtime
/// role that holds it (the login role does not).
pub const ENTER_SET: &str = "SELECT set_config('app.dealership_ids', CASE \
     WHEN current_setting('app.group_id') <> '' \
         THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text \
     WHEN current_setting('app.dealership_id') <> '' \
         THEN '{' || current_setting('app.dealership_id') || '}' \
     ELSE '' END, true)";

/// The connection pool. Its connection is private to `tenancy`: request code gets a
/// [`TenantTx`], never the pool, so a forgotten tenant cannot read every tenant.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    /// The same pool, for tenant transactions ([`TenantTx`] drives its connection itself).
    pool: PgPool,
    /// How long a round trip that should be instant (`BEGIN`, `COMMIT`) may take before the
    /// database counts as unreachable: the acquire timeout, so a silent database (no reset,
    /// no answer) fails as fast as a refusing one.
    within: Duration,
    /// `database.transaction_pooling`: the pool reaches PostgreSQL through PgBouncer in
    /// transaction mode, so a transaction must not rely on what earlier ones left on "its"
    /// server connection, nor leave anything there ([`Self::try_begin`]).
    pooled: Option<Pooled>,
    /// The second pool, for reads in one round trip; `None` where it cannot serve (through a
    /// transaction pooler, with TLS required, or `database.read_connections = 0`).
    pipelined: Option<Pipelined>,
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
        let conn = sea_orm::Database::connect(options).await?;
        Ok(Self {
            pool: conn.get_postgres_connection_pool().clone(),
            conn,
            within: settings.acquire_timeout(),
            pooled,
            pipelined: Pipelined::new(settings),
        })
    }

    /// Opens a transaction for `scope`: in the message of its `BEGIN` it switches to the role and
    /// sets the tenant, both transaction-local, so nothing survives on the pooled connection.
    ///
    /// Bounded by the acquire timeout as a whole. A pooled connection that died since its last
    /// use (the pool does not ping on checkout) fails at once; nothing has run yet, so the
    /// transaction is opened again on another one.
    pub async fn begin(&self, scope: Scope) -> Result<TenantTx, AppError> {
        self.open(scope, Writes::Maybe).await
    }

    /// [`begin`](Self::begin) for a transaction that only reads: `BEGIN READ ONLY` (a write in
    /// it fails instead of being lost), and its commit waits for nothing, as a read has nothing
    /// to make durable ([`TenantTx::commit`]). It begins on its first statement, and a first
    /// [`TenantTx::rows`] read goes out in one round trip.
    pub async fn begin_reading(&self, scope: Scope) -> Result<TenantTx, AppError> {
        self.open(scope, Writes::Never).await
    }

    async fn open(&self, scope: Scope, writes: Writes) -> Result<TenantTx, AppError> {
        match writes {
            Writes::Never => Ok(TenantTx::reading(scope, self.clone())),
            Writes::Maybe => {
                let conn = self.connect_in(scope, writes).await?;
                Ok(TenantTx::begun(conn, scope, self.clone(), writes))
            }
        }
    }

    /// A pooled connection inside a transaction of `scope` (as [`begin`](Self::begin) says).
    async fn connect_in(
        &self,
        scope: Scope,
        writes: Writes,
    ) -> Result<PoolConnection<Postgres>, AppError> {
        let deadline = Instant::now() + self.within;
        let unreachable = || AppError::Unavailable("database did not open a transaction".into());
        // a dead pooled connection is replaced at once; a refusing or full server is not
        // hammered: the pause doubles from 10 ms up to 200 ms
        let mut pause = Duration::from_millis(5);
        loop {
            match timeout_at(deadline, self.try_begin(scope, writes)).await {
                Ok(Ok(conn)) => return Ok(conn),
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

    /// One round trip: `BEGIN` and the scope go out as one simple-protocol message (literals,
    /// no parameters; through a pooler the clean-up leads it).
    async fn try_begin(
        &self,
        scope: Scope,
        writes: Writes,
    ) -> Result<PoolConnection<Postgres>, DbErr> {
        let conn = self.pool.acquire().await.map_err(acquire_err)?;
        let (role, dealership, group) = scope.role_and_tenant();
        let begin = begin_in_scope(self.pooled, writes, [role, &dealership, &group]);
        tx::begun(conn, begin).await
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
        if let Some(pipelined) = &self.pipelined {
            pipelined.close();
        }
        self.conn.close().await
    }
}

/// `BEGIN` (`READ ONLY` for a reading transaction) and the scope of [`ENTER_SCOPE`] for the
/// simple protocol: role and tenant (and,
/// through a pooler, the statement timeout) all transaction-local; through a pooler the
/// clean-up of other clients' prepared statements comes first.
fn begin_in_scope(pooled: Option<Pooled>, writes: Writes, params: [&str; 3]) -> String {
    let mut sql = String::with_capacity(160);
    sql.push_str(match writes {
        Writes::Maybe => "BEGIN; ",
        Writes::Never => "BEGIN READ ONLY; ",
    });
    if pooled.is_some() {
        sql.push_str(DROP_PREPARED);
        sql.push_str("; ");
    }
    // `$3` before `$2`, `$1`: a literal never holds a `$`
    let enter = ENTER_SCOPE
        .replace("$3", &literal(params[2]))
        .replace("$2", &literal(params[1]))
        .replace("$1", &literal(params[0]));
    sql.push_str(&enter);
    if let Some(pooled) = pooled.filter(|p| p.statement_timeout_ms > 0) {
        sql.push_str(&format!(
            ", set_config('statement_timeout', '{}', true)",
            pooled.statement_timeout_ms
        ));
    }
    sql.push_str("; ");
    sql.push_str(ENTER_SET);
    sql
}

/// A pool that could not give a connection, as SeaORM reports it (a timeout is "busy").
fn acquire_err(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
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
    fn begin_and_scope_are_one_simple_query_with_quoted_literals() {
        let tenant = "0193a5f0-0000-7000-8000-000000000001";
        let dealership = begin_in_scope(None, Writes::Maybe, ["dealergate_app", tenant, ""]);
        assert!(dealership.starts_with(
            "BEGIN; SELECT set_config('role', 'dealergate_app', true), \
             set_config('app.dealership_id', '0193a5f0-0000-7000-8000-000000000001', true), \
             set_config('app.group_id', '', true)"
        ));
        assert!(dealership.ends_with(&format!("; {ENTER_SET}")));
        assert!(!dealership.contains('$'), "{dealership}");
        let group = begin_in_scope(None, Writes::Maybe, ["dealergate_app", "", tenant]);
        assert!(group.contains(
            "set_config('app.group_id', '0193a5f0-0000-7000-8000-000000000001', true); SELECT"
        ));
        let pooled = Pooled {
            statement_timeout_ms: 15_000,
        };
        let read = begin_in_scope(Some(pooled), Writes::Never, ["dealergate_app", tenant, ""]);
        assert!(read.starts_with("BEGIN READ ONLY; DEALLOCATE ALL; SELECT set_config('role'"));
        assert!(read.contains(", set_config('statement_timeout', '15000', true); "));
        let no_timeout = Pooled {
            statement_timeout_ms: 0,
        };
        let plain = begin_in_scope(Some(no_timeout), Writes::Maybe, ["r", "", ""]);
        assert!(!plain.contains("statement_timeout"));
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
