//! The database commands: `migrate`, `seed`, and the dev start's database creation.

use anyhow::{Context, bail};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::MigrateAction;
use crate::{
    auth::mfa::SecretBox,
    config::{Profile, Settings},
    service::seed,
    tenancy::{Database, Scope, connect_options},
};

pub async fn migrate(settings: &Settings, action: MigrateAction) -> anyhow::Result<()> {
    // one connection, so the advisory lock below covers every statement of the migration
    let mut options = connect_options(settings.database.url.expose());
    options
        .max_connections(1)
        .connect_timeout(settings.database.connect_timeout());
    let conn = sea_orm::Database::connect(options)
        .await
        .context("connecting to the database to migrate")?;
    with_migration_lock(&conn, true).await?;
    let result = match action {
        MigrateAction::Up => Migrator::up(&conn, None).await,
        MigrateAction::Down { steps } => Migrator::down(&conn, Some(steps)).await,
        MigrateAction::Status => print_status(&conn).await,
    };
    with_migration_lock(&conn, false).await?;
    conn.close().await?;
    result.context("migrating")
}

/// Replicas started together (or a Helm hook racing a developer) migrate one at a time.
async fn with_migration_lock(conn: &DatabaseConnection, take: bool) -> anyhow::Result<()> {
    let sql = if take {
        "SELECT pg_advisory_lock(hashtext('dealergate-migrate'))"
    } else {
        "SELECT pg_advisory_unlock(hashtext('dealergate-migrate'))"
    };
    conn.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    Ok(())
}

async fn print_status(conn: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    for m in Migrator::get_migration_with_status(conn).await? {
        println!("{:<8} {}", m.status().to_string(), m.name());
    }
    Ok(())
}

pub async fn seed(settings: &Settings) -> anyhow::Result<()> {
    if settings.profile == Profile::Prod {
        bail!("seeding demo data is refused in the prod profile");
    }
    let mut data = seed::load(&settings.seed.dir)?;
    if !settings.seed.demo_factors {
        data.users.iter_mut().for_each(|u| u.totp_secret = None);
    }
    let sealer = SecretBox::configured(&settings.auth.mfa)?;
    let db = Database::connect(&settings.database).await?;
    let tx = db.begin(Scope::Platform).await?;
    let report = seed::apply(&tx, &data, &sealer).await?;
    tx.commit().await?;
    db.close().await?;
    tracing::info!(
        dealerships_created = report.dealerships_created,
        users_created = report.users_created,
        unchanged = report.unchanged,
        "demo data seeded"
    );
    Ok(())
}

/// Dev only: creates the database named in `url` through the server's `postgres` database.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let Some((server_url, name)) = split_database_url(url) else {
        return Ok(());
    };
    let conn = server(&server_url).await?;
    if !database_exists(&conn, &name).await? {
        conn.execute_unprepared(&format!("CREATE DATABASE {}", quoted(&name)))
            .await?;
        tracing::info!(database = %name, "created the development database");
    }
    conn.close().await?;
    Ok(())
}

/// The cluster's `postgres` database at `server_url`, for creating and dropping databases.
pub(super) async fn server(server_url: &str) -> anyhow::Result<DatabaseConnection> {
    sea_orm::Database::connect(connect_options(server_url))
        .await
        .context("connecting to the PostgreSQL server")
}

pub(super) async fn database_exists(
    server: &DatabaseConnection,
    name: &str,
) -> anyhow::Result<bool> {
    Ok(server
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some())
}

/// A database name as an SQL identifier.
pub(super) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `postgres://u@h:5432/db?x=y` → (`postgres://u@h:5432/postgres?x=y`, `db`).
pub(super) fn split_database_url(url: &str) -> Option<(String, String)> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://")? + 3;
    let slash = scheme_end + base[scheme_end..].find('/')?;
    let name = &base[slash + 1..];
    if name.is_empty() || name == "postgres" {
        return None;
    }
    let server = format!(
        "{}/postgres{}",
        &base[..slash],
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    Some((server, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_splits_into_server_and_name() {
        assert_eq!(
            split_database_url("postgres://postgres@127.0.0.1:5432/dealergate?sslmode=disable"),
            Some((
                "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into(),
                "dealergate".into()
            ))
        );
        assert_eq!(
            split_database_url("postgres://u:p@db/app"),
            Some(("postgres://u:p@db/postgres".into(), "app".into()))
        );
        assert_eq!(split_database_url("postgres://db/postgres"), None);
        assert_eq!(split_database_url("postgres://db"), None);
    }
}
