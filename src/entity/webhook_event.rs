//! An event owed to one endpoint (the outbox, a tenant row): written by the `webhook_emit`
//! trigger with its audit event, numbered by the sequencer, leased and delivered by a sender.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// The `webhook-id` of every attempt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ord: i64,
    pub endpoint_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub event_type: String,
    pub audit_event_id: Uuid,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub sequence: Option<i64>,
    pub committed_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
