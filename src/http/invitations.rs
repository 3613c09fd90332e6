//! `/api/v1/invitations`: staff invite people into a dealership (signing up with one is
//! [`super::signup`]).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{Nullable, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{Email, PersonName, Role, RoleName},
    entity::invitation::{self, Status},
    error::AppError,
    service::{
        Page,
        invitations::{self, NewInvitation},
    },
    state::AppState,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// Its link works.
    Pending,
    Accepted,
    /// Past `expires_at` unused; a resend makes it pending again.
    Expired,
    /// Revoked, or replaced by a newer invitation of the address into the same dealership.
    Revoked,
}

impl From<Status> for InvitationStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Pending => Self::Pending,
            Status::Accepted => Self::Accepted,
            Status::Expired => Self::Expired,
            Status::Revoked => Self::Revoked,
        }
    }
}

impl From<InvitationStatus> for Status {
    fn from(status: InvitationStatus) -> Self {
        match status {
            InvitationStatus::Pending => Self::Pending,
            InvitationStatus::Accepted => Self::Accepted,
            InvitationStatus::Expired => Self::Expired,
            InvitationStatus::Revoked => Self::Revoked,
        }
    }
}

/// An invitation as staff see it; its token is never shown (only mailed).
#[derive(Debug, Object)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    /// The built-in role (the rank) the new user gets.
    pub role: Role,
    /// The custom role of the dealership they get too, or `null`.
    pub custom_role_id: Nullable<Uuid>,
    /// `null` for an invitation to become a platform admin.
    pub dealership_id: Nullable<Uuid>,
    pub first_name: Nullable<String>,
    pub last_name: Nullable<String>,
    pub invited_by: Nullable<Uuid>,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Nullable<DateTime<Utc>>,
    /// The user the invitation became.
    pub accepted_user_id: Nullable<Uuid>,
    pub revoked_at: Nullable<DateTime<Utc>>,
}

impl From<invitation::Model> for Invitation {
    fn from(i: invitation::Model) -> Self {
        Self {
            status: i.status(Utc::now()).into(),
            id: i.id,
            email: i.email,
            role: i.role,
            custom_role_id: i.custom_role_id.into(),
            dealership_id: i.dealership_id.into(),
            first_name: i.first_name.into(),
            last_name: i.last_name.into(),
            invited_by: i.invited_by.into(),
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at.into(),
            accepted_user_id: i.accepted_user_id.into(),
            revoked_at: i.revoked_at.into(),
        }
    }
}

#[derive(Object)]
#[oai(example)]
pub(crate) struct CreateInvitation {
    /// The address the link goes to and the new user signs in with.
    #[oai(deserialize_with = "json_string")]
    pub(crate) email: String,
    /// `admin`, `principal`, `manager`, `agent`, or the name of a custom role of the
    /// dealership whose permissions the caller holds.
    #[oai(deserialize_with = "json_string")]
    pub(crate) role: String,
    /// Required in an admin's invitation for staff; a principal's go to their own dealership.
    #[oai(nullable)]
    pub(crate) dealership_id: Option<Uuid>,
    /// Shown in the message; the new user chooses their name when signing up.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) first_name: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) last_name: Option<String>,
}

impl Example for CreateInvitation {
    fn example() -> Self {
        Self {
            email: "new.hire@premiumauto.com".into(),
            role: "agent".into(),
            dealership_id: None,
            first_name: Some("Nora".into()),
            last_name: None,
        }
    }
}

impl CreateInvitation {
    pub(crate) fn parse(self) -> Result<NewInvitation, AppError> {
        let optional = |raw: &Option<String>| fields::optional(raw.as_deref(), PersonName::parse);
        let (email, role, first_name, last_name) = fields::check((
            ("email", Email::parse(&self.email).map(Some)),
            ("role", RoleName::parse(&self.role).map(Some)),
            ("first_name", optional(&self.first_name)),
            ("last_name", optional(&self.last_name)),
        ))?;
        Ok(NewInvitation {
            email: email.expect("parsed"),
            role: role.expect("parsed"),
            dealership_id: self.dealership_id,
            first_name,
            last_name,
        })
    }
}

#[derive(ApiResponse)]
enum InvitationList {
    /// A page of invitations, newest first; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<Invitation>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    /// Invited: the link is on its way to the address.
    #[oai(status = 201)]
    Created(Json<Invitation>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct InvitationsApi;

#[OpenApi(prefix_path = "/api/v1/invitations", tag = "ApiTags::Invitations")]
impl InvitationsApi {
    /// Invite an address into a dealership with a role, at most the caller's own rank.
    ///
    /// **Permissions:** `invitations:create` at the caller's widest scope: an admin into any
    /// dealership (`dealership_id`, or none for an admin), a principal into their own (another
    /// dealership is `404`). The link (`mail.invitation_path`) is valid for
    /// `mail.invitation_ttl_secs` (72 hours by default) and works once; an older pending
    /// invitation of the address into the same dealership is revoked. Whether the address has
    /// an account already is not said here; signing up says it (`409`). A dealership mails at
    /// most `mail.invitations_per_hour_per_dealership` invitations an hour and one sender
    /// `mail.invitations_per_hour_per_sender` (sends and resends alike): then `429`, audited.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<CreateInvitation>,
    ) -> ApiResult<Created, set::CreateInvitation> {
        let new = body.parse()?;
        let scope = state
            .begin(&me, Resource::Invitations, Action::Create)
            .await?;
        let created = invitations::create(&state, &scope, new).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// List invitations: all for admins, the caller's dealership for principals.
    ///
    /// **Permissions:** `invitations:list` at the caller's widest scope; `dealership_id` is
    /// honoured for admins.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(status): Query<Option<InvitationStatus>>,
        Query(dealership_id): Query<Option<Uuid>>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<InvitationList, set::Listing> {
        let page = Page::parse(limit, offset)?;
        let scope = state
            .begin(&me, Resource::Invitations, Action::List)
            .await?;
        let status = status.map(Status::from);
        let (found, total) = invitations::list(&scope, status, dealership_id, page).await?;
        scope.commit().await?;
        let found = found.into_iter().map(Invitation::from).collect();
        Ok(InvitationList::Ok(Json(found), total))
    }

    /// Revoke a pending invitation: its link stops working.
    ///
    /// **Permissions:** `invitations:delete` at the invitation's scope, for roles up to the
    /// caller's rank. Another dealership's invitation is `404`; one that is not pending `409`.
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state
            .begin(&me, Resource::Invitations, Action::Delete)
            .await?;
        invitations::revoke(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Mail a pending or expired invitation again, with a new link valid for a full lifetime;
    /// the old link stops working.
    ///
    /// **Permissions:** `invitations:update` at the invitation's scope, for roles up to the
    /// caller's rank. Another dealership's invitation is `404`; an accepted or revoked one
    /// `409`; past the hour's invitation quota (see creating one) `429`.
    #[oai(path = "/:id/resend", method = "post")]
    async fn resend(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<Invitation>, set::Resend> {
        let scope = state
            .begin(&me, Resource::Invitations, Action::Update)
            .await?;
        let resent = invitations::resend(&state, &scope, id).await?;
        scope.commit().await?;
        Ok(Json(resent.into()))
    }
}
