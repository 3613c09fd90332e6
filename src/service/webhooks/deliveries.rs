//! What an endpoint was sent: the log of attempts, newest first, and a manual redelivery of
//! one event (the same `webhook-id` and body; the receiver deduplicates).

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::endpoints;
use crate::{
    entity::{webhook_delivery, webhook_event},
    error::AppError,
    scope::RequestScope,
    service::{Page, audit},
    webhooks::CHANNEL,
};

/// An attempt with the event it carried.
pub struct Attempt {
    pub delivery: webhook_delivery::Model,
    pub event_type: String,
    pub sequence: Option<i64>,
}

/// The attempts to endpoint `id`, newest first, and how many there are.
pub async fn list(
    scope: &RequestScope,
    id: Uuid,
    page: Page,
) -> Result<(Vec<Attempt>, u64), AppError> {
    let endpoint = endpoints::get(scope, id).await?;
    let query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .order_by_desc(webhook_delivery::Column::At)
        .order_by_desc(webhook_delivery::Column::Id);
    let total = query.clone().count(scope.tx()).await?;
    let rows = query
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|d| d.event_id).collect();
    let events = webhook_event::Entity::find()
        .filter(webhook_event::Column::Id.is_in(ids))
        .all(scope.tx())
        .await?;
    let attempts = rows
        .into_iter()
        .map(|delivery| {
            let event = events.iter().find(|e| e.id == delivery.event_id);
            Attempt {
                event_type: event.map(|e| e.event_type.clone()).unwrap_or_default(),
                sequence: event.and_then(|e| e.sequence),
                delivery,
            }
        })
        .collect();
    Ok((attempts, total))
}

/// Makes event `event_id` of endpoint `id` due now, delivered or given up or not; 409 while
/// the endpoint is disabled (it would wait until enabled). Audited as `webhook.redelivered`.
pub async fn redeliver(scope: &RequestScope, id: Uuid, event_id: Uuid) -> Result<(), AppError> {
    let endpoint = endpoints::get(scope, id).await?;
    if !endpoint.enabled {
        return Err(AppError::Conflict(
            "the endpoint is disabled: enable it first".into(),
        ));
    }
    let updated = scope
        .tx()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // a fresh schedule: an event past its retries would otherwise get one try
            "UPDATE webhook_events SET next_attempt_at = now(), delivered_at = NULL, \
                                       failed_at = NULL, attempts = 0 \
             WHERE id = $1 AND endpoint_id = $2",
            [event_id.into(), endpoint.id.into()],
        ))
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound("event"));
    }
    scope
        .tx()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [CHANNEL.into()],
        ))
        .await?;
    let event = audit::Event {
        dealership_id: endpoint.dealership_id,
        actor_id: Some(scope.principal().user_id),
        action: "webhook.redelivered",
        target_type: "webhook",
        target_id: Some(endpoint.id),
        changes: Some(json!({"event_id": event_id})),
    };
    audit::record_in(scope, event).await
}
