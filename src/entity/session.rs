//! A session: one refresh-token family of one membership; the families of one sign-in share
//! `sign_in_id`. Only hashes of refresh tokens are stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub user_id: Uuid,
    pub refresh_token_hash: Vec<u8>,
    pub previous_token_hash: Option<Vec<u8>>,
    pub rotated_at: Option<DateTimeUtc>,
    pub rotation_count: i32,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub absolute_expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<String>,
    /// When this session last proved a second factor; `None`: the password only.
    pub mfa_at: Option<DateTimeUtc>,
    /// The sign-in this refresh family belongs to: one per sign-in of the person, one family
    /// per membership used in it (the first family's id).
    pub sign_in_id: Uuid,
    /// The dealer group of a group membership's family (taken from the transaction that
    /// opens it).
    pub group_id: Option<Uuid>,
    /// The OpenID client whose family this is (opened by a code exchange); `None`: the API's
    /// or the console's. Only that client refreshes it, at `/oauth2/token`.
    pub client_id: Option<Uuid>,
    /// When the person authenticated for a family opened later (a client's): its `auth_time`.
    pub authenticated_at: Option<DateTimeUtc>,
    /// The scopes the client was granted.
    pub client_scopes: Option<Vec<String>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
