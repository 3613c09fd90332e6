//! Dormant accounts (FTC Safeguards Rule 314.4(c)(1)): a membership nobody has used for
//! `accounts.dormant_after_days` (or its dealership's override; 0 = off) is deactivated by the
//! maintenance task, its holder mailed `accounts.dormant_notice_days` before, once. A
//! deactivation is the API's: sessions revoked and announced to every replica, audited
//! `user.deactivated` with `reason = "dormant"`. A dealership's (or group's) last active
//! principal is kept instead, and the platform's admins told once.
//!
//! Each batch is its own platform-scope transaction over at most `purge_batch_size` rows,
//! leased with `SKIP LOCKED`, so replicas running the pass at once share the work.
//! Service accounts unused as long are disabled by a second pass ([`machines`]).

mod machines;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Statement,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::revoked::{Revoked, publish},
    domain::Role,
    entity::user,
    error::AppError,
    mail::{Kind, outbox},
    scope::RequestMeta,
    service::{audit, sessions, user_mail, users},
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// A pass never runs more batches than this per step, however far behind it is.
const MAX_BATCHES: u32 = 100;
/// The advisory lock closing an account takes to count principals (service/account/closing.rs):
/// a dormant principal and a closing one cannot each see the other and both leave.
const LAST_PRINCIPAL_LOCK: &str = "dealergate.last-manager.principals";

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dormancy {
    pub noticed: u64,
    pub deactivated: u64,
    /// last principals kept active (admins told)
    pub kept: u64,
    /// service accounts disabled (`machines`)
    pub machines_disabled: u64,
}

/// The days in force: the configured default (0 = off) and the notice.
#[derive(Debug, Clone, Copy)]
struct Days {
    after: i32,
    notice: i32,
    batch: i64,
}

/// One pass over every source of dormant principals.
pub async fn run(state: &AppState) -> Result<Dormancy, AppError> {
    let settings = &state.settings;
    let days = Days {
        after: settings.accounts.dormant_after_days(settings.profile) as i32,
        notice: settings.accounts.dormant_notice_days.min(3650) as i32,
        batch: i64::from(settings.maintenance.purge_batch_size.clamp(1, 10_000)),
    };
    let mut done = memberships(state, days).await?;
    done.machines_disabled = machines::disable_dormant(state, days).await?;
    Ok(done)
}

/// The dormancy of people's memberships: notices, then deactivations.
async fn memberships(state: &AppState, days: Days) -> Result<Dormancy, AppError> {
    let mut done = Dormancy::default();
    for _ in 0..MAX_BATCHES {
        let n = notice_batch(state, days).await?;
        done.noticed += n;
        if n < days.batch as u64 {
            break;
        }
    }
    for _ in 0..MAX_BATCHES {
        let (deactivated, kept) = deactivation_batch(state, days).await?;
        done.deactivated += deactivated;
        done.kept += kept;
        if deactivated + kept < days.batch as u64 {
            break;
        }
    }
    Ok(done)
}

/// A live, non-admin membership of a live dealership (or a group) whose days are on (`$1` the
/// default, a dealership's override first).
const DORMANT_FROM: &str = "FROM memberships m LEFT JOIN dealerships d ON d.id = m.dealership_id \
     WHERE m.deleted_at IS NULL AND m.is_active AND m.role <> 'admin' \
       AND (m.dealership_id IS NULL OR (d.deleted_at IS NULL AND d.is_active)) \
       AND coalesce(d.dormant_after_days, $1) > 0";

#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: Uuid,
    last_active_at: DateTime<Utc>,
    /// when the membership will be (notice) or would have been deactivated
    due_at: DateTime<Utc>,
}

/// Mails the holders of memberships that reach their days within the notice, once each.
async fn notice_batch(state: &AppState, days: Days) -> Result<u64, AppError> {
    let tx = state.db.begin(Scope::Platform).await?;
    let due = Candidate::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT m.id, m.last_active_at, greatest( \
                 m.last_active_at + make_interval(days => coalesce(d.dormant_after_days, $1)), \
                 now() + make_interval(days => $2)) AS due_at \
             {DORMANT_FROM} AND m.dormant_notice_at IS NULL \
               AND m.last_active_at < now() + make_interval(days => $2) \
                   - make_interval(days => coalesce(d.dormant_after_days, $1)) \
             ORDER BY m.last_active_at LIMIT $3 FOR UPDATE OF m SKIP LOCKED"
        ),
        [days.after.into(), days.notice.into(), days.batch.into()],
    ))
    .all(&tx)
    .await?;
    for one in &due {
        let Some(user) = live_user(&tx, one.id).await? else {
            continue;
        };
        let mut letter = user_mail::letter(&tx, Kind::DormantNotice, &user).await?;
        letter.context.deadline = Some(one.due_at.format("%B %-d, %Y").to_string());
        outbox::enqueue(&tx, state.mail.compose(letter)?).await?;
        mark(&tx, "dormant_notice_at", one.id).await?;
    }
    tx.commit().await?;
    Ok(due.len() as u64)
}

/// Deactivates memberships past their days whose notice has run its course; keeps a last
/// principal and tells the admins. Returns (deactivated, kept).
async fn deactivation_batch(state: &AppState, days: Days) -> Result<(u64, u64), AppError> {
    let tx = state.db.begin(Scope::Platform).await?;
    // before any row lock, as closing.rs takes it: the two never wait on each other crosswise
    lock(&tx, LAST_PRINCIPAL_LOCK).await?;
    let due = Candidate::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT m.id, m.last_active_at, m.last_active_at \
                 + make_interval(days => coalesce(d.dormant_after_days, $1)) AS due_at \
             {DORMANT_FROM} AND m.dormant_kept_at IS NULL \
               AND m.dormant_notice_at <= now() - make_interval(days => $2) \
               AND m.last_active_at < now() \
                   - make_interval(days => coalesce(d.dormant_after_days, $1)) \
             ORDER BY m.last_active_at LIMIT $3 FOR UPDATE OF m SKIP LOCKED"
        ),
        [days.after.into(), days.notice.into(), days.batch.into()],
    ))
    .all(&tx)
    .await?;
    let (mut deactivated, mut kept) = (0, 0);
    for one in &due {
        let Some(user) = live_user(&tx, one.id).await? else {
            continue;
        };
        if is_last_principal(&tx, &user).await? {
            keep_and_tell_admins(state, &tx, &user, one).await?;
            kept += 1;
        } else {
            deactivate(&tx, &user, one).await?;
            deactivated += 1;
        }
    }
    tx.commit().await?;
    Ok((deactivated, kept))
}

/// Deactivates as `PATCH /users/{id}` with `is_active: false` does: sessions revoked at once on
/// every replica (the NOTIFY goes with the commit), invitations it sent revoked, audited.
async fn deactivate(tx: &TenantTx, user: &user::Model, one: &Candidate) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE memberships SET is_active = false, updated_at = now() WHERE id = $1",
        [user.id.into()],
    ))
    .await?;
    sessions::revoke_all(tx, user.id, None, "dormant").await?;
    publish(tx, Revoked::User(user.id)).await?;
    users::manage::revoke_invitations_of(tx, user.id).await?;
    let changes = json!({
        "reason": "dormant",
        "last_active_at": one.last_active_at,
        "is_active": {"before": true, "after": false},
    });
    record(tx, user, "user.deactivated", changes).await?;
    tracing::info!(user_id = %user.id, last_active_at = %one.last_active_at,
        "deactivated a dormant membership");
    Ok(())
}

/// A last principal stays active: marked so this happens once until they are active again,
/// audited, logged, and every active admin mailed.
async fn keep_and_tell_admins(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    one: &Candidate,
) -> Result<(), AppError> {
    mark(tx, "dormant_kept_at", user.id).await?;
    let changes = json!({"reason": "dormant", "last_active_at": one.last_active_at,
                         "kept": "last active principal"});
    record(tx, user, "user.dormant_kept", changes).await?;
    tracing::warn!(user_id = %user.id, dealership_id = ?user.dealership_id,
        "a dormant last principal was kept active; the platform's admins are told");
    let admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .all(tx)
        .await?;
    let place = place_name(tx, user).await?;
    for admin in admins {
        let mut letter = user_mail::letter(tx, Kind::DormantPrincipalKept, &admin).await?;
        letter.context.dealership = Some(place.clone());
        letter.context.new_email = Some(user.email.clone());
        letter.context.deadline = Some(one.last_active_at.format("%B %-d, %Y").to_string());
        outbox::enqueue(tx, state.mail.compose(letter)?).await?;
    }
    Ok(())
}

/// Whether `user` is a principal (or group principal) whom no other active one of the same
/// place would replace. Reads this transaction's own deactivations.
async fn is_last_principal(tx: &TenantTx, user: &user::Model) -> Result<bool, AppError> {
    if !matches!(user.role, Role::Principal | Role::GroupPrincipal) {
        return Ok(false);
    }
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT NOT EXISTS (SELECT 1 FROM memberships o, memberships m \
                 WHERE m.id = $1 AND o.id <> m.id AND o.role = m.role \
                   AND o.deleted_at IS NULL AND o.is_active \
                   AND o.dealership_id IS NOT DISTINCT FROM m.dealership_id \
                   AND o.group_id IS NOT DISTINCT FROM m.group_id) AS last",
            [user.id.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<bool>("", "last")).transpose()? == Some(true))
}

/// The membership as a live user, or `None` if it changed since it was picked.
async fn live_user(tx: &TenantTx, id: Uuid) -> Result<Option<user::Model>, AppError> {
    Ok(user::Entity::find_by_id(id)
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .one(tx)
        .await?)
}

/// The dealership's name, or the group's for a group membership.
async fn place_name(tx: &TenantTx, user: &user::Model) -> Result<String, AppError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT coalesce(d.name, g.name, 'the platform') AS name FROM memberships m \
             LEFT JOIN dealerships d ON d.id = m.dealership_id \
             LEFT JOIN dealer_groups g ON g.id = m.group_id WHERE m.id = $1",
            [user.id.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<String>("", "name"))
        .transpose()?
        .unwrap_or_default())
}

async fn mark(tx: &TenantTx, column: &'static str, id: Uuid) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("UPDATE memberships SET {column} = now() WHERE id = $1"),
        [id.into()],
    ))
    .await?;
    Ok(())
}

async fn lock(tx: &TenantTx, key: &str) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [key.into()],
    ))
    .await?;
    Ok(())
}

/// An event of the maintenance task (no actor, no request) on the membership's dealership.
async fn record(
    tx: &TenantTx,
    user: &user::Model,
    action: &'static str,
    changes: serde_json::Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: None,
        action,
        target_type: "user",
        target_id: Some(user.id),
        changes: Some(changes),
    };
    audit::record(tx, &RequestMeta::default(), event).await
}

/// Runs a pass every `maintenance.purge_interval_secs` until aborted (a no-op task when the
/// interval is 0), and sets the platform's MFA coverage gauge after each.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let interval = state.settings.maintenance.purge_interval_secs;
        if interval == 0 {
            return;
        }
        let mut every = tokio::time::interval(std::time::Duration::from_secs(interval));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match run(&state).await {
                Ok(done) if done != Dormancy::default() => tracing::info!(
                    noticed = done.noticed,
                    deactivated = done.deactivated,
                    kept = done.kept,
                    "dormant accounts"
                ),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "dormancy pass failed; next interval"),
            }
            if let Err(err) = super::access_review::coverage::set_gauge(&state.db).await {
                tracing::warn!(error = %err, "MFA coverage gauge not updated");
            }
        }
    })
}
