//! Reads in one round trip. A read through the main pool costs three: `BEGIN` with the scope,
//! the statement, and the `ROLLBACK` that goes out with sqlx's check of the returned connection
//! (sqlx sends nothing before the previous answer is in, and pings every connection it takes
//! back). Here the opening (`BEGIN READ ONLY`, [`ENTER_SCOPE`], [`ENTER_SET`]), the statement and
//! the `ROLLBACK` are prepared statements of the connection, written together (tokio-postgres
//! pipelines requests that are polled together: one write, then the answers in one read), and
//! the connection goes back to its pool without a ping (deadpool's `Fast` recycling).
//!
//! Each statement ends in its own `Sync`, so one that fails does not swallow the next: the
//! rows count only if the opening succeeded too, and the `ROLLBACK` always runs, so the
//! connection is back outside a transaction whatever happened. A cancelled read cannot leave
//! one open either: the requests are handed to the connection in one poll, all or none.
//!
//! Used only where the main pool speaks plain TCP too: a URL that says `sslmode=disable` (a
//! local cluster, a sidecar), with no `PGSSLMODE` in the environment. This pool has no TLS, and
//! with `prefer` (or no `sslmode`) sqlx upgrades to TLS when the server offers it, which plain
//! TCP here would silently undo. Not used through PgBouncer in transaction mode either (Debian's
//! 1.18 keeps no prepared statements across transactions). There, and after a statement that
//! the login role cannot prepare outside its runtime role (a schema without `USAGE` for
//! `PUBLIC`), the read takes the main pool ([`TenantTx::rows`](super::TenantTx::rows) decides).

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use sea_orm::{DbErr, RuntimeErr, Statement};
use sea_query_postgres::{PostgresValue, PostgresValues};
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_postgres::{Config, NoTls, Row, config::SslMode, types::ToSql};

use super::{ENTER_SCOPE, ENTER_SET, Scope};
use crate::{config::DatabaseSettings, error::server_going_away};

const BEGIN: &str = "BEGIN READ ONLY";
const ROLLBACK: &str = "ROLLBACK";

/// The second pool, for reads in one round trip.
#[derive(Clone)]
pub(super) struct Pipelined {
    pool: Pool,
    /// The server's cap on a statement (plus the opening's bound): a read still waiting after
    /// it is abandoned, as nothing else would bound a network gone silent mid-read.
    cap: Option<Duration>,
    /// Cleared when the login role cannot prepare a statement: reads take the main pool.
    usable: Arc<AtomicBool>,
}

impl Pipelined {
    /// The pool for `settings`, or `None` where it cannot serve (see the module's notes); the
    /// connections open as reads need them.
    pub(super) fn new(settings: &DatabaseSettings) -> Option<Self> {
        if settings.read_connections == 0 || settings.transaction_pooling {
            return None;
        }
        let mut config = match Config::from_str(settings.url.expose()) {
            Ok(config)
                if config.get_ssl_mode() == SslMode::Disable
                    && std::env::var_os("PGSSLMODE").is_none() =>
            {
                config
            }
            Ok(_) => {
                tracing::info!(
                    "reads in one round trip are off: the database URL does not say sslmode=disable \
                     (the main pool may use TLS; the read pool has none)"
                );
                return None;
            }
            Err(err) => {
                tracing::info!(%err, "reads in one round trip are off: tokio-postgres cannot read the database URL");
                return None;
            }
        };
        config
            .connect_timeout(settings.connect_timeout())
            .application_name("dealergate-read");
        if settings.statement_timeout_secs > 0 {
            let ms = settings.statement_timeout_secs.saturating_mul(1000);
            // after the URL's own `options`, as sqlx adds its own
            let options = format!(
                "{} -c statement_timeout={ms}",
                config.get_options().unwrap_or("")
            );
            config.options(options.trim_start());
        }
        let cap = (settings.statement_timeout_secs > 0).then(|| {
            Duration::from_secs(settings.statement_timeout_secs) + settings.acquire_timeout()
        });
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeouts = Timeouts {
            wait: Some(settings.acquire_timeout()),
            create: Some(settings.connect_timeout()),
            recycle: None,
        };
        let pool = Pool::builder(manager)
            .max_size(settings.read_connections as usize)
            .timeouts(timeouts)
            .runtime(Runtime::Tokio1)
            .build()
            .ok()?;
        Some(Self {
            pool,
            cap,
            usable: Arc::new(AtomicBool::new(true)),
        })
    }

    /// `statement`'s rows, read in a transaction of `scope` that opens and ends in the same
    /// round trip. Until `BEGIN` is answered the read is bounded by `within` (the acquire
    /// timeout, as the main pool's opening is): a silent database fails as fast as a refusing
    /// one; after that the statement runs under `statement_timeout`. A connection found dead
    /// (the server restarted or the connection was cut since its last use) is replaced: nothing
    /// ran on it, and a read may run again.
    /// `None`: this pool cannot serve the read (see the module's notes); take the main pool.
    pub(super) async fn rows(
        &self,
        scope: Scope,
        statement: &Statement,
        within: Duration,
    ) -> Option<Result<Vec<Row>, DbErr>> {
        if !self.usable.load(Ordering::Relaxed) {
            return None;
        }
        let deadline = Instant::now() + within;
        loop {
            match self.try_rows(scope, statement, deadline).await {
                Err(err) if err.closed && Instant::now() < deadline => {
                    tracing::debug!(err = err.message, "a pooled read connection was dead");
                    sleep(Duration::from_millis(10)).await;
                }
                Err(err) if err.unprepared => {
                    self.usable.store(false, Ordering::Relaxed);
                    tracing::warn!(
                        err = err.message,
                        "reads in one round trip are off: the login role cannot prepare the \
                         directory's statements outside its runtime role"
                    );
                    return None;
                }
                other => return Some(other.map_err(Failure::into_db_err)),
            }
        }
    }

    async fn try_rows(
        &self,
        scope: Scope,
        statement: &Statement,
        deadline: Instant,
    ) -> Result<Vec<Row>, Failure> {
        let client = timeout_at(deadline, self.pool.get())
            .await
            .map_err(|_| Failure::stalled())?
            .map_err(Failure::pool)?;
        // prepared once per connection (together, in one round trip); a cache hit afterwards
        let prepared = timeout_at(deadline, async {
            tokio::try_join!(
                client.prepare_cached(BEGIN),
                client.prepare_cached(ENTER_SCOPE),
                client.prepare_cached(ENTER_SET),
                client.prepare_cached(&statement.sql),
                client.prepare_cached(ROLLBACK),
            )
        });
        let Ok(prepared) = prepared.await else {
            drop(Object::take(client)); // closed, not returned: its answers are still owed
            return Err(Failure::stalled());
        };
        let (begin, enter, set, query, rollback) = prepared.map_err(Failure::unprepared)?;
        let (role, dealership, group) = scope.role_and_tenant();
        let scope_params: [&(dyn ToSql + Sync); 3] = [&role, &dealership, &group];
        let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
        let values = PostgresValues(values.into_iter().map(PostgresValue).collect());
        let params = values.as_params();
        let begun = AtomicBool::new(false);
        let read = async {
            tokio::join!(
                async {
                    let began = client.execute(&begin, &[]).await;
                    begun.store(true, Ordering::Relaxed);
                    began
                },
                client.execute(&enter, &scope_params),
                client.execute(&set, &[]),
                client.query(&query, &params),
                client.execute(&rollback, &[]),
            )
        };
        let outcome = {
            tokio::pin!(read);
            match timeout_at(deadline, &mut read).await {
                Ok(done) => Some(done),
                // the opening was answered: the statement runs under its own cap
                Err(_) if begun.load(Ordering::Relaxed) => match self.cap {
                    Some(cap) => timeout(cap, &mut read).await.ok(),
                    None => Some(read.await),
                },
                Err(_) => None,
            }
        };
        let Some((began, entered, set, rows, ended)) = outcome else {
            drop(Object::take(client)); // closed, not returned: its answers are still owed
            return Err(Failure::stalled());
        };
        began?;
        entered?;
        set?;
        let rows = rows?;
        ended?;
        Ok(rows)
    }

    pub(super) fn close(&self) {
        self.pool.close();
    }
}

/// A failed read: whether the connection was lost (then it may be retried), and the message.
struct Failure {
    closed: bool,
    unavailable: bool,
    /// The server refused to prepare a statement for want of a privilege or a name (class 42).
    unprepared: bool,
    message: String,
}

impl Failure {
    fn stalled() -> Self {
        Self {
            closed: false,
            unavailable: true,
            unprepared: false,
            message: "database did not answer a read in time".to_owned(),
        }
    }

    fn unprepared(err: tokio_postgres::Error) -> Self {
        let refused = err.code().is_some_and(|c| c.code().starts_with("42"));
        Self {
            unprepared: refused,
            ..Self::from(err)
        }
    }

    fn pool(err: deadpool_postgres::PoolError) -> Self {
        Self {
            closed: false,
            unavailable: true,
            unprepared: false,
            message: format!("read pool: {err}"),
        }
    }

    /// As the main pool's errors read ([`crate::error::is_connection_failure`]): a lost or
    /// refused connection is 503, an error the server answered is the statement's.
    fn into_db_err(self) -> DbErr {
        if self.unavailable {
            DbErr::Conn(RuntimeErr::Internal(self.message))
        } else {
            DbErr::Query(RuntimeErr::Internal(self.message))
        }
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        let going_away = err.code().is_some_and(|c| server_going_away(c.code()));
        let closed = err.is_closed() || going_away;
        // an I/O error (a connect refused, a connection cut) is the database being away too
        let io = std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>());
        Self {
            closed,
            unavailable: closed || io,
            unprepared: false,
            message: format!("database: {err}"),
        }
    }
}
