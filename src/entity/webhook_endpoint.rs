//! A webhook endpoint (a tenant row; no dealership: a platform endpoint, seen in platform
//! scope only): where events go, which it wants, its sealed secrets and its health.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    /// `whsec_…` sealed by `SecretBox` under the endpoint's id (and dealership's).
    pub secret_sealed: Vec<u8>,
    /// The secret before the last rotation: it signs too until `previous_expires_at`.
    pub previous_sealed: Option<Vec<u8>>,
    pub previous_expires_at: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub last_sequence: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
