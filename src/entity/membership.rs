//! A membership: a person's place in one dealership (admins: on the platform, no dealership).
//! A tenant row under forced RLS; its id is the id `/users/{id}` names.

use sea_orm::{FromQueryResult, entity::prelude::*};

use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub person_id: Uuid,
    pub dealership_id: Option<Uuid>,
    /// The rank, and what the member may unless a custom role says more.
    pub role: Role,
    /// A custom role of the membership's dealership (its base role is `role`).
    pub custom_role_id: Option<Uuid>,
    pub is_active: bool,
    pub last_login: Option<DateTimeUtc>,
    /// The membership that added this one (an inviter, a principal); `None` for an operator's.
    pub added_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// One of a person's memberships as the person sees it (the login answer, `/auth/me`): where,
/// and as what.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct Summary {
    /// The membership (the `/users/{id}` id).
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub dealership_name: Option<String>,
    pub role: Role,
    pub custom_role_id: Option<Uuid>,
    pub last_login: Option<DateTimeUtc>,
}
