//! Dormant service accounts: an account none of whose keys or tokens was used for the days in
//! force (its dealership's own days first, else the default) is disabled, as a person's
//! membership is deactivated, but without a notice mail: a machine reads no mail, and its
//! maker sees the date coming in the access review. Disabled, every key and token of it dies
//! on every replica at once; audited `service_account.disabled` with the reason.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, FromQueryResult, Statement};
use serde_json::json;
use uuid::Uuid;

use super::{Days, MAX_BATCHES};
use crate::{
    auth::revoked::{Revoked, publish},
    error::AppError,
    scope::RequestMeta,
    service::audit,
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// Disables up to a batch of dormant accounts per transaction; the number disabled.
pub(super) async fn disable_dormant(state: &AppState, days: Days) -> Result<u64, AppError> {
    let mut disabled = 0;
    for _ in 0..MAX_BATCHES {
        let n = batch(state, days).await?;
        disabled += n;
        if n < days.batch as u64 {
            break;
        }
    }
    Ok(disabled)
}

#[derive(Debug, FromQueryResult)]
struct Disabled {
    id: Uuid,
    dealership_id: Option<Uuid>,
    created_by: Uuid,
    /// the last use, or its creation when it was never used
    last_active_at: DateTime<Utc>,
}

/// Live accounts of live tenants whose last use (or creation) is older than their days; a
/// group's or the platform's take the default. Service accounts are new with the release that
/// brought dormancy, so their clock cannot predate the deploy.
const DISABLE: &str = "\
WITH due AS (
    SELECT s.id FROM service_accounts s LEFT JOIN dealerships d ON d.id = s.dealership_id
    WHERE s.revoked_at IS NULL AND s.disabled_at IS NULL
      AND coalesce(d.dormant_after_days, $1) > 0
      AND coalesce(s.last_used_at, s.created_at)
          < now() - make_interval(days => coalesce(d.dormant_after_days, $1))
    ORDER BY coalesce(s.last_used_at, s.created_at) LIMIT $2
    FOR UPDATE OF s SKIP LOCKED)
UPDATE service_accounts s SET disabled_at = now(), disabled_reason = 'dormant'
FROM due WHERE s.id = due.id
RETURNING s.id, s.dealership_id, s.created_by,
          coalesce(s.last_used_at, s.created_at) AS last_active_at";

async fn batch(state: &AppState, days: Days) -> Result<u64, AppError> {
    let tx = state.db.begin(Scope::Platform).await?;
    let disabled = Disabled::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        DISABLE,
        [days.after.into(), days.batch.into()],
    ))
    .all(&tx)
    .await?;
    for one in &disabled {
        // the account's cached liveness and its keys' drop on every replica at commit
        publish(&tx, Revoked::User(one.id)).await?;
        record(&tx, one).await?;
        tracing::info!(service_account_id = %one.id, last_active_at = %one.last_active_at,
            "disabled a dormant service account");
    }
    tx.commit().await?;
    // this replica at once too, as a request scope does at commit; the others by the notice
    for one in &disabled {
        state.auth.sessions.apply(Revoked::User(one.id)).await;
    }
    Ok(disabled.len() as u64)
}

async fn record(tx: &TenantTx, one: &Disabled) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: one.dealership_id,
        actor_id: None,
        action: "service_account.disabled",
        target_type: "service_account",
        target_id: Some(one.id),
        changes: Some(json!({
            "reason": "dormant",
            "last_active_at": one.last_active_at,
            "created_by": one.created_by,
        })),
    };
    audit::record(tx, &RequestMeta::default(), event).await
}
