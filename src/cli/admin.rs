//! `dealergate admin create-user`: how the first admin of a production install gets in, since
//! `seed` is refused in prod. Idempotent, so a Helm hook can run it on every install.
//! `dealergate admin reset-mfa`: how an admin who lost every second factor gets back in.

use std::io::Read;

use anyhow::{Context, bail};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{AdminAction, NewAccount};
use crate::{
    auth::password,
    config::Settings,
    domain::{Email, NewPassword, PersonName, Role},
    entity::dealership,
    mail::Mailer,
    service::{
        RequestMeta, mfa,
        roles::assign::Placement,
        users::manage::{self, NewUser},
    },
    tenancy::{Database, Scope},
};

pub async fn run(settings: &Settings, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser(account) => create_user(settings, account).await,
        AdminAction::ResetMfa { email } => reset_mfa(settings, &email).await,
    }
}

async fn reset_mfa(settings: &Settings, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let mailer = Mailer::new(&settings.mail, settings.profile, settings.listen)?;
    let db = Database::connect(&settings.database)
        .await
        .context("connecting to the database")?;
    let tx = db.begin(Scope::Platform).await?;
    let reset = mfa::reset::reset_by_operator(&tx, &mailer, &email, &operator()).await?;
    match reset {
        Some((user, removed)) => {
            tx.commit().await?;
            println!(
                "reset {} ({}): {removed} factor(s) removed",
                user.email, user.id
            );
        }
        None => {
            drop(tx);
            db.close().await?;
            bail!("no user signs in as {email}");
        }
    }
    db.close().await?;
    Ok(())
}

/// What the audit trail says of a command: no caller, a request id of its own.
fn operator() -> RequestMeta {
    RequestMeta {
        request_id: Some(format!("cli-{}", Uuid::now_v7())),
        ..RequestMeta::default()
    }
}

async fn create_user(settings: &Settings, account: NewAccount) -> anyhow::Result<()> {
    let NewAccount {
        email,
        role,
        dealership,
        first_name,
        last_name,
        password_file,
    } = account;
    let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let first_name =
        PersonName::parse(&first_name).map_err(|e| anyhow::anyhow!("first_name: {e}"))?;
    let last_name = PersonName::parse(&last_name).map_err(|e| anyhow::anyhow!("last_name: {e}"))?;
    let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let raw = match password_file {
        Some(path) => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        }
        None => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the password from standard input")?;
            input
        }
    };
    let raw = raw.trim_end_matches(['\r', '\n']);
    let password = NewPassword::parse(raw, Some(email.as_str()))
        .map_err(|e| anyhow::anyhow!("password: {e}"))?;

    let db = Database::connect(&settings.database)
        .await
        .context("connecting to the database")?;
    let tx = db.begin(Scope::Platform).await?;
    let dealership_id = match dealership {
        None => None,
        Some(d) => Some(find_dealership(&tx, &d).await?),
    };
    let hash = password::hash(password.expose().to_owned()).await?;
    let new = NewUser {
        email: email.clone(),
        password,
        first_name,
        last_name,
        phone: None,
    };
    let placed = Placement::builtin(dealership_id, role);
    match manage::create_by_operator(&tx, new, placed, hash, &operator()).await? {
        Some(user) => {
            tx.commit().await?;
            println!("created {} ({}) {}", user.email, user.role, user.id);
        }
        None => {
            drop(tx); // nothing to commit; the pool cannot close while it holds a connection
            println!("{email} already exists; nothing changed");
        }
    }
    db.close().await?;
    Ok(())
}

async fn find_dealership(tx: &crate::tenancy::TenantTx, id_or_name: &str) -> anyhow::Result<Uuid> {
    let query = dealership::Entity::find().filter(dealership::Column::DeletedAt.is_null());
    let found = match Uuid::try_parse(id_or_name) {
        Ok(id) => query.filter(dealership::Column::Id.eq(id)).one(tx).await?,
        Err(_) => {
            query
                .filter(dealership::Column::Name.eq(id_or_name))
                .one(tx)
                .await?
        }
    };
    match found {
        Some(d) => Ok(d.id),
        None => bail!("no dealership {id_or_name:?}"),
    }
}
