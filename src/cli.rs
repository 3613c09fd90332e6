//! The `dealergate` command line: `serve` (default), `migrate`, `seed`, `config`, `openapi`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::{
    auth::keys,
    config::{Profile, Settings},
    service::seed,
    startup::Application,
    telemetry,
    tenancy::{Database, Scope, connect_options},
};

#[derive(Debug, Parser)]
#[command(
    name = "dealergate",
    version,
    about = "Identity, sessions and tenancy for dealership platforms"
)]
pub struct Cli {
    /// Configuration file (default: $DEALERGATE_CONFIG, then ./dealergate.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). In `dev` it first migrates the database and seeds the demo data.
    Serve,
    /// Apply, roll back or list schema migrations (connect as the schema owner).
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load the demo data from the seed folder (idempotent; refused in `prod`).
    Seed,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Print the OpenAPI document.
    Openapi,
    /// Check an authorization policy folder.
    Policies {
        #[command(subcommand)]
        action: PoliciesAction,
    },
    /// Manage access-token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PoliciesAction {
    /// Validate `model.conf` and `policy.csv` and run `tests.csv`; prints each problem and exits
    /// non-zero if there is any (for platform teams' CI).
    Check {
        /// The policy folder.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Write a new Ed25519 key pair: `signing.pem` (private, mode 0600) and `signing.pub.pem`.
    Generate {
        /// Folder to write into; existing files are never overwritten.
        #[arg(long, default_value = "keys")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the newest migrations.
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Parses nothing, runs everything: the body of `main`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    match &command {
        Command::Openapi => {
            println!("{}", crate::http::api_service().spec());
            return Ok(());
        }
        Command::Keys {
            action: KeysAction::Generate { out },
        } => {
            let (private, public) = keys::write_key_pair(out)?;
            println!("wrote {} and {}", private.display(), public.display());
            println!(
                "sign with it:   DEALERGATE_AUTH__SIGNING_KEY_FILE={}",
                private.display()
            );
            println!(
                "after rotating, keep verifying old tokens with auth.verification_key_files = [\"{}\"]",
                public.display()
            );
            return Ok(());
        }
        Command::Policies {
            action: PoliciesAction::Check { dir },
        } => {
            let problems = crate::authz::check_dir(dir).await;
            for problem in &problems {
                println!("FAIL {problem}");
            }
            if !problems.is_empty() {
                bail!("{} problem(s) in {}", problems.len(), dir.display());
            }
            println!("ok: {} is valid and its tests.csv passes", dir.display());
            return Ok(());
        }
        _ => {}
    }
    let settings = Settings::load(cli.config)?;
    if let Command::Config = command {
        print!("{}", settings.to_redacted_toml());
        return Ok(());
    }
    telemetry::init(&settings);
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate { action } => migrate(&settings, action).await,
        Command::Seed => seed(&settings).await,
        Command::Config | Command::Openapi | Command::Keys { .. } | Command::Policies { .. } => {
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.profile == Profile::Dev {
        // the two-command start: a fresh machine with PostgreSQL gets a working server
        create_database_if_missing(settings.database.url.expose()).await?;
        migrate(&settings, MigrateAction::Up).await?;
        seed(&settings).await?;
    }
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}

async fn migrate(settings: &Settings, action: MigrateAction) -> anyhow::Result<()> {
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

async fn seed(settings: &Settings) -> anyhow::Result<()> {
    if settings.profile == Profile::Prod {
        bail!("seeding demo data is refused in the prod profile");
    }
    let data = seed::load(&settings.seed.dir)?;
    let db = Database::connect(&settings.database).await?;
    let tx = db.begin(Scope::Platform).await?;
    let report = seed::apply(&tx, &data).await?;
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
async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let Some((server_url, name)) = split_database_url(url) else {
        return Ok(());
    };
    let conn = sea_orm::Database::connect(connect_options(&server_url))
        .await
        .context("connecting to the PostgreSQL server")?;
    let exists = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        conn.execute_unprepared(&format!("CREATE DATABASE {quoted}"))
            .await?;
        tracing::info!(database = %name, "created the development database");
    }
    conn.close().await?;
    Ok(())
}

/// `postgres://u@h:5432/db?x=y` → (`postgres://u@h:5432/postgres?x=y`, `db`).
fn split_database_url(url: &str) -> Option<(String, String)> {
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

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::parse_from(["dealergate"]);
        assert!(cli.command.is_none());
        let cli = Cli::parse_from(["dealergate", "migrate", "down", "-n", "2"]);
        assert!(matches!(
            cli.command,
            Some(Command::Migrate {
                action: MigrateAction::Down { steps: 2 }
            })
        ));
    }
}
