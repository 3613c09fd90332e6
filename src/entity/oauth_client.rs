//! A registered OpenID client (a platform row; admins manage it): an app that signs people in
//! through dealergate. Its secrets are `oauth_client_secret` rows, stored as hashes only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub confidential: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub id_token_alg: String,
    /// Who may use it: `None` for both, anyone; otherwise a membership of one of these
    /// dealerships, or of (a dealership of) one of these groups.
    pub dealership_ids: Option<Vec<Uuid>>,
    pub group_ids: Option<Vec<Uuid>>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
