//! The audit log: one row per change, written in the transaction of the change, so a change
//! that rolls back leaves no event and an event never describes a change that did not happen.

use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use super::RequestMeta;
use crate::{entity::audit_event, error::AppError};

/// One event. `changes` holds what changed (before/after); never secrets.
#[derive(Debug, Default)]
pub struct Event {
    pub dealership_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<Uuid>,
    pub changes: Option<serde_json::Value>,
}

pub async fn record(
    tx: &DatabaseTransaction,
    meta: &RequestMeta,
    event: Event,
) -> Result<(), AppError> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(event.dealership_id),
        actor_id: Set(event.actor_id),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.to_owned()),
        target_id: Set(event.target_id),
        request_id: Set(meta.request_id.clone()),
        ip: Set(meta.ip.clone()),
        changes: Set(event.changes),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}
