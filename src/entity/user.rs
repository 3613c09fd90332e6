//! A user: dealership staff, or a platform admin (`dealership_id` is `NULL`).

use sea_orm::entity::prelude::*;

use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub email: String,
    /// argon2id PHC string; never leaves the service layer.
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub token_version: i32,
    pub last_login: Option<DateTimeUtc>,
    /// When the address was confirmed through a mailed link; `None` until then.
    pub email_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::dealership::Entity",
        from = "Column::DealershipId",
        to = "super::dealership::Column::Id"
    )]
    Dealership,
}

impl Related<super::dealership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Dealership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
