//! An endpoint that keeps failing is disabled (after `webhooks.disable_after_failures`
//! consecutive failed attempts), audited as `webhook.disabled`, and its dealership's principals
//! (the admins, for a platform endpoint) are mailed, all in the transaction that records the
//! attempt that tipped it.

use sea_orm::{DbBackend, FromQueryResult, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::AppError,
    mail::{self, Compose, Context, Kind, Mailer},
    scope::RequestMeta,
    service::audit,
    tenancy::TenantTx,
};

#[derive(Debug, FromQueryResult)]
struct Recipient {
    email: String,
    first_name: String,
    dealership_name: Option<String>,
}

/// Disables endpoint `id` (unless something did already) and tells those who manage it.
pub async fn disable(
    tx: &TenantTx,
    mailer: &Mailer,
    id: Uuid,
    dealership_id: Option<Uuid>,
    failures: i32,
) -> Result<(), AppError> {
    let reason = format!("{failures} consecutive failed deliveries");
    let url = match disable_row(tx, id, &reason).await? {
        Some(url) => url,
        None => return Ok(()),
    };
    let event = audit::Event {
        dealership_id,
        actor_id: None,
        action: "webhook.disabled",
        target_type: "webhook",
        target_id: Some(id),
        changes: Some(json!({"reason": "failures", "consecutive_failures": failures})),
    };
    audit::record(tx, &RequestMeta::default(), event).await?;
    for to in recipients(tx, dealership_id).await? {
        let context = Context {
            first_name: to.first_name,
            email: to.email.clone(),
            dealership: to.dealership_name,
            endpoint: Some(url.clone()),
            ..Context::default()
        };
        let message = mailer.compose(Compose {
            kind: Kind::WebhookDisabled,
            dealership_id,
            recipient: to.email,
            context,
        })?;
        mail::outbox::enqueue(tx, message).await?;
    }
    tracing::warn!(endpoint = %id, failures, "webhook endpoint disabled after failures");
    Ok(())
}

/// The endpoint's URL if this call disabled it; `None` if it was disabled or gone already.
async fn disable_row(tx: &TenantTx, id: Uuid, reason: &str) -> Result<Option<String>, AppError> {
    #[derive(FromQueryResult)]
    struct Disabled {
        url: String,
    }
    Ok(Disabled::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now() \
         WHERE id = $1 AND enabled RETURNING url",
        [id.into(), reason.into()],
    ))
    .one(tx)
    .await?
    .map(|d| d.url))
}

/// The dealership's active principals; for a platform endpoint, the active admins.
async fn recipients(
    tx: &TenantTx,
    dealership_id: Option<Uuid>,
) -> Result<Vec<Recipient>, AppError> {
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT u.email, u.first_name, u.dealership_name FROM users u \
         WHERE u.is_active AND u.deleted_at IS NULL \
           AND CASE WHEN $1::uuid IS NULL THEN u.role = 'admin' \
                    ELSE u.dealership_id = $1 AND u.role = 'principal' END \
         ORDER BY u.email",
        [dealership_id.into()],
    );
    Ok(Recipient::find_by_statement(statement).all(tx).await?)
}
