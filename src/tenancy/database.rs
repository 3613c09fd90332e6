//! The pool, and the tenant transaction that is the only door to tenant tables.

use std::{ops::Deref, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    Statement, TransactionTrait,
};

use super::Scope;
use crate::{config::DatabaseSettings, error::AppError};

/// Switches role and tenant for the rest of the transaction only (`is_local = true`):
/// `set_config('role', …)` is `SET LOCAL ROLE` with a bind parameter.
pub const ENTER_SCOPE: &str =
    "SELECT set_config('role', $1, true), set_config('app.dealership_id', $2, true)";

/// The connection pool. Its connection is private to `tenancy`: request code gets a
/// [`TenantTx`], never the pool, so a forgotten tenant cannot read every tenant.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
}

impl Database {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        let mut options = connect_options(settings.url.expose());
        options
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout())
            .connect_timeout(settings.connect_timeout())
            // the default ping on every checkout doubles the cost of a short transaction
            .test_before_acquire(false)
            .sqlx_logging(false);
        if settings.statement_timeout_secs > 0 {
            options.statement_timeout(Duration::from_secs(settings.statement_timeout_secs));
        }
        Ok(Self {
            conn: sea_orm::Database::connect(options).await?,
        })
    }

    /// Opens a transaction for `scope`: in one statement it switches to the runtime role and
    /// sets the tenant, both transaction-local, so nothing survives on the pooled connection.
    pub async fn begin(&self, scope: Scope) -> Result<TenantTx, AppError> {
        let tx = self.conn.begin().await?;
        let (role, tenant) = scope.role_and_tenant();
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            ENTER_SCOPE,
            [role.into(), tenant.into()],
        ))
        .await?;
        Ok(TenantTx { tx, scope })
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

    /// Catalog reads (posture checks) only: they touch no tenant table.
    pub(super) fn catalog(&self) -> &DatabaseConnection {
        &self.conn
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
}

impl TenantTx {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub async fn commit(self) -> Result<(), AppError> {
        Ok(self.tx.commit().await?)
    }
}

impl Deref for TenantTx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

/// Options for `url` that never show its password: SeaORM records its connect options (the
/// URL included) in a tracing span, so the password goes to the driver separately.
pub fn connect_options(url: &str) -> ConnectOptions {
    let (url, password) = split_password(url);
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    if let Some(password) = password {
        options.map_sqlx_postgres_opts(move |o| o.password(&password));
    }
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
