//! The demo data of api.md, read from `seed/*.toml` and applied idempotently (by dealership name
//! and user email) in one platform-scope transaction. Never a migration, never in `prod`.

use std::path::Path;

use anyhow::{Context, bail};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set,
    Statement, sea_query::Expr,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::{
        mfa::{SecretBox, totp},
        password,
    },
    domain::{Phone, Role},
    entity::{dealer_group, dealership, membership, person, user},
    error::AppError,
    tenancy::TenantTx,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    #[serde(default)]
    pub dealerships: Vec<DemoDealership>,
    #[serde(default)]
    pub users: Vec<DemoUser>,
    /// More places of demo users: a person in several dealerships.
    #[serde(default)]
    pub memberships: Vec<DemoMembership>,
    /// Dealer groups and their dealerships (by name).
    #[serde(default)]
    pub groups: Vec<DemoGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoGroup {
    pub id: Uuid,
    pub name: String,
    pub dealerships: Vec<String>,
}

/// Another membership of the demo user with `email`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoMembership {
    pub id: Uuid,
    pub email: String,
    pub dealership: String,
    pub role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoDealership {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// The dealership's name in the same files; absent for admins and group roles.
    pub dealership: Option<String>,
    /// A group role's dealer group, by name.
    #[serde(default)]
    pub group: Option<String>,
    /// An authenticator app's secret in base32 (documented: demo data only), enrolled and
    /// confirmed for the user when it is created.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub dealerships_created: usize,
    pub users_created: usize,
    pub memberships_created: usize,
    pub unchanged: usize,
}

/// Reads every `*.toml` in `dir`, in name order, into one data set.
pub fn load(dir: &Path) -> anyhow::Result<DemoData> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading seed folder {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.toml seed files in {}", dir.display());
    }
    let mut data = DemoData {
        dealerships: Vec::new(),
        users: Vec::new(),
        memberships: Vec::new(),
        groups: Vec::new(),
    };
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let part: DemoData =
            toml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        data.dealerships.extend(part.dealerships);
        data.users.extend(part.users);
        data.memberships.extend(part.memberships);
        data.groups.extend(part.groups);
    }
    Ok(data)
}

/// Inserts what is missing; existing dealerships (by name) and users (by email) are left as
/// they are, so a second run changes nothing. A demo user's app is sealed with `sealer`. A
/// database that held no dealership and no user before is marked as the demo seed's
/// (`demo_seed`); one with data of its own never is, however often it is seeded.
pub async fn apply(
    tx: &TenantTx,
    data: &DemoData,
    sealer: &SecretBox,
) -> Result<SeedReport, AppError> {
    tx.execute_unprepared(
        "INSERT INTO demo_seed (only_row) SELECT true \
         WHERE NOT EXISTS (SELECT 1 FROM dealerships) AND NOT EXISTS (SELECT 1 FROM users) \
         ON CONFLICT DO NOTHING",
    )
    .await?;
    let mut report = SeedReport::default();
    for d in &data.dealerships {
        if find_dealership(tx, &d.name).await?.is_some() {
            report.unchanged += 1;
            continue;
        }
        dealership::ActiveModel {
            id: Set(d.id),
            name: Set(d.name.clone()),
            address: Set(d.address.clone()),
            contact_email: Set(d.contact_email.clone()),
            contact_phone: Set(d.contact_phone.clone()),
            ..Default::default()
        }
        .insert(tx)
        .await?;
        report.dealerships_created += 1;
    }
    for g in &data.groups {
        group(tx, g).await?;
    }
    for u in &data.users {
        let exists = user::Entity::find()
            .filter(Expr::cust_with_values(
                "lower(email) = lower($1)",
                [u.email.clone()],
            ))
            .filter(user::Column::DeletedAt.is_null())
            .one(tx)
            .await?
            .is_some();
        if exists {
            report.unchanged += 1;
            continue;
        }
        // stored as the API stores it, so it signs in and collides like one set through the API
        let phone = u
            .phone
            .as_deref()
            .map(|raw| {
                Phone::parse(raw).map(Phone::into_inner).map_err(|e| {
                    AppError::internal(anyhow::anyhow!("seed: {}: phone {raw:?} {e}", u.email))
                })
            })
            .transpose()?;
        let dealership_id = match &u.dealership {
            Some(name) => Some(find_dealership(tx, name).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("seed: no dealership {name}"))
            })?),
            None => None,
        };
        person::ActiveModel {
            id: Set(u.id),
            email: Set(u.email.to_lowercase()),
            password_hash: Set(password::hash(u.password.clone()).await?),
            first_name: Set(u.first_name.clone()),
            last_name: Set(u.last_name.clone()),
            phone: Set(phone),
            // demo addresses are not mailboxes anyone reads: taken as verified
            email_verified_at: Set(Some(chrono::Utc::now())),
            ..Default::default()
        }
        .insert(tx)
        .await
        .map_err(crate::service::users::conflict_if_taken)?;
        let group_id = match &u.group {
            Some(name) => Some(find_group(tx, name).await?),
            None => None,
        };
        add_membership(tx, u.id, u.id, (dealership_id, group_id), u.role).await?;
        if let Some(secret) = &u.totp_secret {
            enrol(tx, sealer, u, secret).await?;
        }
        report.users_created += 1;
    }
    for m in &data.memberships {
        let person = user::Entity::find()
            .filter(Expr::cust_with_values(
                "lower(email) = lower($1)",
                [m.email.clone()],
            ))
            .filter(user::Column::DeletedAt.is_null())
            .one(tx)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("seed: no user {}", m.email)))?;
        let dealership_id = find_dealership(tx, &m.dealership).await?.ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("seed: no dealership {}", m.dealership))
        })?;
        let there = user::Entity::find()
            .filter(user::Column::PersonId.eq(person.person_id))
            .filter(user::Column::DealershipId.eq(dealership_id))
            .filter(user::Column::DeletedAt.is_null())
            .one(tx)
            .await?;
        if there.is_none() {
            let place = (Some(dealership_id), None);
            add_membership(tx, person.person_id, m.id, place, m.role).await?;
            report.memberships_created += 1;
        }
    }
    Ok(report)
}

/// Dealer group `g` if missing (by id), and its dealerships in it.
async fn group(tx: &TenantTx, g: &DemoGroup) -> Result<(), AppError> {
    if dealer_group::Entity::find_by_id(g.id)
        .one(tx)
        .await?
        .is_none()
    {
        let now = chrono::Utc::now();
        dealer_group::ActiveModel {
            id: Set(g.id),
            name: Set(g.name.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(tx)
        .await?;
    }
    for name in &g.dealerships {
        let id = find_dealership(tx, name)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("seed: no dealership {name}")))?;
        dealership::Entity::update_many()
            .col_expr(dealership::Column::GroupId, Expr::value(g.id))
            .filter(dealership::Column::Id.eq(id))
            .filter(dealership::Column::GroupId.is_null())
            .exec(tx)
            .await?;
    }
    Ok(())
}

async fn find_group(tx: &TenantTx, name: &str) -> Result<Uuid, AppError> {
    Ok(dealer_group::Entity::find()
        .filter(dealer_group::Column::Name.eq(name))
        .one(tx)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("seed: no dealer group {name}")))?
        .id)
}

/// Membership `id` of person `person_id` in a dealership or a group (neither: an admin's).
async fn add_membership(
    tx: &TenantTx,
    person_id: Uuid,
    id: Uuid,
    (dealership_id, group_id): (Option<Uuid>, Option<Uuid>),
    role: Role,
) -> Result<(), AppError> {
    membership::ActiveModel {
        id: Set(id),
        person_id: Set(person_id),
        dealership_id: Set(dealership_id),
        group_id: Set(group_id),
        role: Set(role),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// A confirmed app for demo user `u`, with the documented secret.
async fn enrol(
    tx: &TenantTx,
    sealer: &SecretBox,
    u: &DemoUser,
    base32: &str,
) -> Result<(), AppError> {
    let secret = totp::secret_from_base32(base32).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "seed: {}: totp_secret is not base32",
            u.email
        ))
    })?;
    let id = Uuid::now_v7();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO mfa_factors (id, person_id, kind, secret_sealed, confirmed_at) \
         VALUES ($1, $2, 'totp', $3, now())",
        [
            id.into(),
            u.id.into(),
            sealer.seal(id, u.id, &secret).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Whether the database is one the demo seed wrote (the `demo_seed` mark).
pub async fn is_demo(conn: &impl ConnectionTrait) -> Result<bool, AppError> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT demo_seeded() AS seeded",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "seeded"))
        .transpose()?
        .unwrap_or(false))
}

async fn find_dealership(tx: &TenantTx, name: &str) -> Result<Option<Uuid>, AppError> {
    Ok(dealership::Entity::find()
        .filter(Expr::cust_with_values(
            "lower(name) = lower($1)",
            [name.to_owned()],
        ))
        .filter(dealership::Column::DeletedAt.is_null())
        .one(tx)
        .await?
        .map(|d| d.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Phone;

    #[test]
    fn the_demo_phones_are_valid_and_stored_as_the_api_would_store_them() {
        let data = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed")).unwrap();
        let phones: Vec<&str> = data
            .dealerships
            .iter()
            .filter_map(|d| d.contact_phone.as_deref())
            .chain(data.users.iter().filter_map(|u| u.phone.as_deref()))
            .collect();
        assert!(!phones.is_empty());
        for phone in phones {
            assert_eq!(Phone::parse(phone).map(Phone::into_inner), Ok(phone.into()));
        }
    }
}
