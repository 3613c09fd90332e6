//! Development helpers: `dealergate seed --reset` (the demo data afresh) and `dealergate dev
//! totp` (what the demo admin's app would show). Both are refused in `prod` and on any database
//! the demo seed did not write (`demo_seed`), so a dev-profile process pointed at a real
//! database can neither wipe it nor print its users' codes.

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::{
    MigrateAction,
    database::{
        create_database_if_missing, database_exists, migrate, quoted, seed, server,
        split_database_url,
    },
};
use crate::{
    auth::mfa::{SecretBox, totp},
    config::{Profile, Settings},
    domain::{Email, SignInName},
    service::{seed as demo, users},
    tenancy::{Database, Scope, connect_options},
};

fn dev_only(settings: &Settings, what: &str) -> anyhow::Result<()> {
    if settings.profile == Profile::Prod {
        bail!("{what} is a development command: refused in the prod profile");
    }
    Ok(())
}

/// Drops the configured database and makes it afresh: migrated and seeded, as `cargo run`
/// makes it on a new machine.
pub async fn reset(settings: &Settings) -> anyhow::Result<()> {
    dev_only(settings, "seed --reset")?;
    let url = settings.database.url.expose();
    let (server_url, name) =
        split_database_url(url).context("the database URL names no database to reset")?;
    let server = server(&server_url).await?;
    if database_exists(&server, &name).await? {
        let target = sea_orm::Database::connect(connect_options(url))
            .await
            .context("connecting to the database")?;
        // a database migrated before the mark existed, or not ours at all, has no demo_seeded()
        let demo = demo::is_demo(&target).await.unwrap_or(false);
        // what the URL really reached (its query may name another database than its path)
        let checked = current_database(&target).await?;
        target.close().await?;
        if !demo || checked != name {
            bail!(
                "refusing to reset {checked}: the demo seed did not write it (drop it yourself \
                 if it is a development database of yours)"
            );
        }
        server
            .execute_unprepared(&format!("DROP DATABASE {} WITH (FORCE)", quoted(&checked)))
            .await?;
        tracing::info!(database = %name, "dropped the demo database");
    }
    server.close().await?;
    create_database_if_missing(url).await?;
    migrate(settings, MigrateAction::Up).await?;
    seed(settings).await?;
    println!("{name}: the demo data afresh (users, passwords and the admin's app)");
    Ok(())
}

async fn current_database(conn: &sea_orm::DatabaseConnection) -> anyhow::Result<String> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database()::text AS name",
        ))
        .await?
        .context("current_database() answered nothing")?;
    Ok(row.try_get::<String>("", "name")?)
}

#[derive(FromQueryResult)]
struct SealedFactor {
    id: Uuid,
    secret_sealed: Vec<u8>,
}

/// Prints the current code of `email`'s first confirmed app, and how long it stays current.
pub async fn totp(settings: &Settings, email: &str) -> anyhow::Result<()> {
    dev_only(settings, "dev totp")?;
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    // only the demo users' apps: a developer's real key must not print anyone else's codes
    let demo_users = demo::load(&settings.seed.dir)?.users;
    let Some(demo_user) = demo_users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.as_str()))
    else {
        bail!(
            "{email} is not a demo user of {}",
            settings.seed.dir.display()
        );
    };
    let sealer = SecretBox::configured(&settings.auth.mfa)?;
    let db = Database::connect(&settings.database)
        .await
        .context("connecting to the database")?;
    let tx = db.begin(Scope::Platform).await?;
    if !demo::is_demo(&tx).await? {
        bail!("refusing: the demo seed did not write this database");
    }
    let Some(user) = users::login_candidate(&tx, &SignInName::from(email.clone()))
        .await?
        .filter(|u| u.person_id == demo_user.id)
    else {
        bail!("no demo user signs in as {email}");
    };
    let factor = SealedFactor::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, secret_sealed FROM mfa_factors \
         WHERE person_id = $1 AND confirmed_at IS NOT NULL ORDER BY created_at LIMIT 1",
        [user.person_id.into()],
    ))
    .one(&tx)
    .await?;
    drop(tx);
    db.close().await?;
    let Some(factor) = factor else {
        bail!("{email} has no authenticator app");
    };
    let secret = sealer
        .open(factor.id, user.person_id, &factor.secret_sealed)
        .context("the app's secret does not open with this auth.mfa.encryption_key")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let code = totp::code_at(&secret, now).context("making the code")?;
    let left = totp::STEP_SECS - now % totp::STEP_SECS;
    println!("{code}");
    eprintln!("{email}: valid for {left} more second(s), and the 30 s after them");
    Ok(())
}
