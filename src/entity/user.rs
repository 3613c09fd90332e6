//! A user as the API shows one: a membership (dealership staff, or a platform admin whose
//! `dealership_id` is `NULL`) with its person's names and sign-in names — the `users` view
//! (migration 000018), read-only: writes go to [`super::person`] and [`super::membership`].

use sea_orm::entity::prelude::*;

use crate::domain::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    /// The person this membership belongs to (for memberships from before people existed,
    /// and every person's first: the membership's own id).
    pub person_id: Uuid,
    pub email: String,
    /// argon2id PHC string; never leaves the service layer.
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    /// The rank, and what the user may unless a custom role says more.
    pub role: Role,
    /// A custom role of the user's own dealership (its base role is `role`).
    pub custom_role_id: Option<Uuid>,
    pub is_active: bool,
    pub token_version: i32,
    pub last_login: Option<DateTimeUtc>,
    /// When the address was confirmed through a mailed link; `None` until then.
    pub email_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    pub added_by: Option<Uuid>,
    /// The membership's dealership's name (`None` for admins).
    pub dealership_name: Option<String>,
    /// The dealer group of a group membership (then `dealership_id` is `None`).
    pub group_id: Option<Uuid>,
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

/// What a user may see of their own record (what `/auth/me` shows): the row without its
/// password hash, so a cache of profiles never holds a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub person_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub custom_role_id: Option<Uuid>,
    pub is_active: bool,
    pub last_login: Option<DateTimeUtc>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The person's memberships the reader may see: for the person themself all of them
    /// (`/auth/me`), for staff only the one of their own dealership.
    pub memberships: Vec<super::membership::Summary>,
}

impl Model {
    /// This membership, as a person's list shows it.
    pub fn summary(&self) -> super::membership::Summary {
        super::membership::Summary {
            user_id: self.id,
            dealership_id: self.dealership_id,
            dealership_name: self.dealership_name.clone(),
            role: self.role,
            custom_role_id: self.custom_role_id,
            last_login: self.last_login,
            group_id: self.group_id,
            // the group's name is in the person's own list (`person_memberships`) only
            group_name: None,
        }
    }
}

impl From<Model> for Profile {
    fn from(u: Model) -> Self {
        let memberships = vec![u.summary()];
        Self {
            memberships,
            id: u.id,
            dealership_id: u.dealership_id,
            group_id: u.group_id,
            person_id: u.person_id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone,
            role: u.role,
            custom_role_id: u.custom_role_id,
            is_active: u.is_active,
            last_login: u.last_login,
            email_verified_at: u.email_verified_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_does_not_carry_the_password_hash() {
        let now = chrono::Utc::now();
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        let profile = Profile::from(Model {
            id: Uuid::now_v7(),
            dealership_id: None,
            person_id: Uuid::now_v7(),
            email: "admin@example.com".into(),
            password_hash: hash.into(),
            first_name: "Ada".into(),
            last_name: "Admin".into(),
            phone: None,
            role: Role::Admin,
            custom_role_id: None,
            is_active: true,
            token_version: 0,
            last_login: None,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            added_by: None,
            dealership_name: None,
            group_id: None,
        });
        let shown = format!("{profile:?}");
        assert!(
            !shown.contains("argon2") && !shown.contains("password"),
            "{shown}"
        );
        assert_eq!(profile.email, "admin@example.com");
    }
}
