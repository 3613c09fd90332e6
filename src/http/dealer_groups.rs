//! `/api/v1/dealer-groups`: dealerships that belong together, and their group principals and
//! group managers. Admins only; every change needs a recent second factor and is audited.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{User, json_string},
    error::{ApiResult, set},
    fields,
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{DealershipName, Role},
    service::{
        Page,
        dealer_groups::{self, Group},
    },
    state::AppState,
};

/// A dealer group and its dealerships.
#[derive(Debug, Object)]
struct DealerGroup {
    id: Uuid,
    name: String,
    /// Its dealerships (live ones), by name.
    dealership_ids: Vec<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Group> for DealerGroup {
    fn from(g: Group) -> Self {
        Self {
            id: g.group.id,
            name: g.group.name,
            dealership_ids: g.dealership_ids,
            created_at: g.group.created_at,
            updated_at: g.group.updated_at,
        }
    }
}

/// A group's name (1–100 characters, as a dealership's).
#[derive(Object)]
struct NameGroup {
    #[oai(deserialize_with = "json_string")]
    name: String,
}

impl NameGroup {
    fn parse(self) -> Result<DealershipName, crate::error::AppError> {
        group_name(&self.name)
    }
}

/// A group's name as a body or form sends it: 422 on `name` unless it is one.
pub(crate) fn group_name(raw: &str) -> Result<DealershipName, crate::error::AppError> {
    fields::one("name", DealershipName::parse(raw))
}

/// A group role for the person of a membership.
#[derive(Object)]
struct AddMember {
    /// Any membership of the person (a `/users/{id}` id).
    user_id: Uuid,
    /// `group_principal` or `group_manager`.
    role: Role,
}

#[derive(ApiResponse)]
enum GroupList {
    /// A page of groups by name; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(Json<Vec<DealerGroup>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum MemberList {
    /// A page of the group's members, newest first; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(Json<Vec<User>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<DealerGroup>),
}

#[derive(ApiResponse)]
enum MemberAdded {
    /// The group membership, as a user (`group_id` set, no dealership).
    #[oai(status = 201)]
    Created(Json<User>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct DealerGroupsApi;

#[OpenApi(prefix_path = "/api/v1/dealer-groups", tag = "ApiTags::DealerGroups")]
impl DealerGroupsApi {
    /// Every dealer group.
    ///
    /// **Permissions:** `dealer_groups:list` at `any` scope.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<GroupList, set::Listing> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::List)
            .await?;
        let (rows, total) = dealer_groups::list(&scope, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        Ok(GroupList::Ok(
            Json(rows.into_iter().map(Into::into).collect()),
            total,
        ))
    }

    /// Create a dealer group (empty: put dealerships in it next).
    ///
    /// **Permissions:** `dealer_groups:create` at `any` scope, and a recent second factor from
    /// a caller who has one (`403 step_up_required`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<NameGroup>,
    ) -> ApiResult<Created, set::CreateDealership> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Create)
            .await?;
        let created = dealer_groups::create(&scope, body.parse()?).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// One dealer group.
    ///
    /// **Permissions:** `dealer_groups:read` at `any` scope.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<DealerGroup>, set::Lookup> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Read)
            .await?;
        let found = dealer_groups::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// Rename a dealer group.
    ///
    /// **Permissions:** `dealer_groups:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id", method = "patch")]
    async fn rename(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<NameGroup>,
    ) -> ApiResult<Json<DealerGroup>, set::Edit> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Update)
            .await?;
        let renamed = dealer_groups::rename(&scope, id, body.parse()?).await?;
        scope.commit().await?;
        Ok(Json(renamed.into()))
    }

    /// Delete an empty dealer group (409 while it has dealerships or members).
    ///
    /// **Permissions:** `dealer_groups:delete` at `any` scope, and a recent second factor.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Delete)
            .await?;
        dealer_groups::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Put a dealership in the group (409 if it is in another one). The group's members reach
    /// it from their next request on, on every replica.
    ///
    /// **Permissions:** `dealer_groups:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id/dealerships/:dealership_id", method = "put")]
    async fn add_dealership(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Path(dealership_id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Update)
            .await?;
        dealer_groups::place(&scope, id, dealership_id, true).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Take a dealership out of the group (a sold rooftop): the group's members no longer
    /// reach it, from their next request on, on every replica.
    ///
    /// **Permissions:** `dealer_groups:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id/dealerships/:dealership_id", method = "delete")]
    async fn remove_dealership(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Path(dealership_id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Update)
            .await?;
        dealer_groups::place(&scope, id, dealership_id, false).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// The group's principals and managers.
    ///
    /// **Permissions:** `dealer_groups:read` at `any` scope.
    #[oai(path = "/:id/members", method = "get")]
    async fn members(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<MemberList, set::PartListing> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Read)
            .await?;
        let page = Page::parse(limit, offset)?;
        let (rows, total) = dealer_groups::members(&scope, id, page).await?;
        scope.commit().await?;
        Ok(MemberList::Ok(
            Json(rows.into_iter().map(Into::into).collect()),
            total,
        ))
    }

    /// Give the person of a membership a group role (`group_principal`, `group_manager`): they
    /// sign in or switch to the group with `group_id`, and act in every dealership of it.
    ///
    /// **Permissions:** `dealer_groups:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id/members", method = "post")]
    async fn add_member(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<AddMember>,
    ) -> ApiResult<MemberAdded, set::Edit> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Update)
            .await?;
        let added = dealer_groups::add_member(&scope, id, body.user_id, body.role).await?;
        scope.commit().await?;
        Ok(MemberAdded::Created(Json(added.into())))
    }

    /// End a group membership; its sessions end on every replica.
    ///
    /// **Permissions:** `dealer_groups:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id/members/:member_id", method = "delete")]
    async fn remove_member(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Path(member_id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state
            .begin(&me, Resource::DealerGroups, Action::Update)
            .await?;
        dealer_groups::remove_member(&scope, id, member_id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }
}
