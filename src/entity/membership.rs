//! A membership: a person's place in one dealership (admins: on the platform, no dealership), or
//! a group membership: a group role across every dealership of a dealer group.
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
    /// The dealer group of a group membership (`group_principal`, `group_manager`).
    pub group_id: Option<Uuid>,
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
    /// The dormancy clock: the last sign-in, switch or refresh (a refresh moves it at most once
    /// a day), or the deploy that introduced it.
    pub last_active_at: DateTimeUtc,
    /// When the holder was told the membership is about to be deactivated as dormant.
    pub dormant_notice_at: Option<DateTimeUtc>,
    /// When a dormant last principal was kept and the platform's admins told instead.
    pub dormant_kept_at: Option<DateTimeUtc>,
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
    /// The dealer group of a group membership.
    pub group_id: Option<Uuid>,
    pub group_name: Option<String>,
}

/// Where a membership is held, as a sign-in or a switch names it: a dealership, or a dealer
/// group (a group membership).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Dealership(Uuid),
    Group(Uuid),
}

impl Place {
    /// The place named by a request's `dealership_id` and `group_id`: at most one of them.
    pub fn named(dealership_id: Option<Uuid>, group_id: Option<Uuid>) -> Option<Option<Self>> {
        match (dealership_id, group_id) {
            (Some(_), Some(_)) => None,
            (Some(d), None) => Some(Some(Place::Dealership(d))),
            (None, Some(g)) => Some(Some(Place::Group(g))),
            (None, None) => Some(None),
        }
    }
}

impl Summary {
    pub fn is_at(&self, place: Place) -> bool {
        match place {
            Place::Dealership(d) => self.dealership_id == Some(d),
            Place::Group(g) => self.group_id == Some(g) && self.dealership_id.is_none(),
        }
    }
}
