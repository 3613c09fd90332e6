//! One delivery attempt of a webhook event (the log, a tenant row).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub attempt: i32,
    /// The receiver's status; `None`: no answer (refused, timed out, unreachable).
    pub status: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
