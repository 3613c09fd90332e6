//! An invitation: someone asked by email to join one dealership with one role (a platform
//! admin's invitation has no dealership). Only the hash of its mailed token is stored.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub email: String,
    /// The rank; the base role of `custom_role_id` if that is set.
    pub role: Role,
    /// A custom role of the invitation's dealership.
    pub custom_role_id: Option<Uuid>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub invited_by: Option<Uuid>,
    /// The id half of the mailed token; a resend replaces it (and the hash).
    pub token_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_user_id: Option<Uuid>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where an invitation stands, derived from its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl Model {
    pub fn status(&self, now: DateTimeUtc) -> Status {
        if self.accepted_at.is_some() {
            Status::Accepted
        } else if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.expires_at <= now {
            Status::Expired
        } else {
            Status::Pending
        }
    }
}
