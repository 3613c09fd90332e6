//! `/api/v1/invitations`: staff invite people into a dealership; `/api/v1/auth/signup`: the
//! invited person signs up with the mailed link's token.

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    auth::refresh_cookie,
    dto::{Nullable, TokenResponse, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self, Either},
    security::{BearerAuth, request_meta},
};
use crate::{
    authz::{Action, Resource},
    domain::{Email, PersonName, Phone, Role},
    entity::invitation::{self, Status},
    error::AppError,
    service::{
        Page,
        invitations::{
            self, NewInvitation,
            signup::{self, Signup},
        },
        open_signup,
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
    pub role: Role,
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
struct CreateInvitation {
    /// The address the link goes to and the new user signs in with.
    #[oai(deserialize_with = "json_string")]
    email: String,
    role: Role,
    /// Required in an admin's invitation for staff; a principal's go to their own dealership.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
    /// Shown in the message; the new user chooses their name when signing up.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    first_name: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    last_name: Option<String>,
}

impl Example for CreateInvitation {
    fn example() -> Self {
        Self {
            email: "new.hire@premiumauto.com".into(),
            role: Role::Agent,
            dealership_id: None,
            first_name: Some("Nora".into()),
            last_name: None,
        }
    }
}

impl CreateInvitation {
    fn parse(self) -> Result<NewInvitation, AppError> {
        let optional = |raw: &Option<String>| fields::optional(raw.as_deref(), PersonName::parse);
        let (email, first_name, last_name) = fields::check((
            ("email", Email::parse(&self.email).map(Some)),
            ("first_name", optional(&self.first_name)),
            ("last_name", optional(&self.last_name)),
        ))?;
        Ok(NewInvitation {
            email: email.expect("parsed"),
            role: self.role,
            dealership_id: self.dealership_id,
            first_name,
            last_name,
        })
    }
}

/// Exactly one of `invitation_token` and `email`, and what the new user chooses.
#[derive(Object)]
#[oai(example)]
struct SignupRequest {
    /// The token of the mailed invitation link (`token=` in its query); leave out with
    /// `email`.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    invitation_token: Option<String>,
    /// Sign up without an invitation, only where `auth.open_signup.enabled` (else `403`):
    /// into the configured dealership, as `agent`, with this address unverified; leave out
    /// with `invitation_token`.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    email: Option<String>,
    /// At least 8 and at most 128 characters, not a common password, not the email.
    #[oai(deserialize_with = "json_string")]
    password: String,
    #[oai(deserialize_with = "json_string")]
    first_name: String,
    #[oai(deserialize_with = "json_string")]
    last_name: String,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    phone: Option<String>,
}

impl Example for SignupRequest {
    fn example() -> Self {
        Self {
            invitation_token: Some(
                "0193a5f0-0000-7000-8000-000000000abc.secret-from-the-link".into(),
            ),
            email: None,
            password: "a long enough passphrase".into(),
            first_name: "Nora".into(),
            last_name: "Newman".into(),
            phone: None,
        }
    }
}

/// How the new user gets in.
enum Admission {
    Invitation(String),
    Open(Email),
}

impl SignupRequest {
    /// How the user gets in (422 naming both `invitation_token` and `email` unless exactly
    /// one is sent) and what they choose.
    fn parse(self) -> Result<(Admission, Signup), AppError> {
        let sent = fields::either(
            ("invitation_token", self.invitation_token.as_deref()),
            ("email", self.email.as_deref()),
        )?;
        let admission = match sent {
            Either::First(token) => Ok(Admission::Invitation(token.to_owned())),
            Either::Second(email) => Email::parse(email).map(Admission::Open),
        };
        let (admission, first_name, last_name, phone) = fields::check((
            ("email", admission),
            ("first_name", PersonName::parse(&self.first_name)),
            ("last_name", PersonName::parse(&self.last_name)),
            (
                "phone",
                fields::optional(self.phone.as_deref(), Phone::parse),
            ),
        ))?;
        let signup = Signup {
            password: self.password,
            first_name,
            last_name,
            phone,
        };
        Ok((admission, signup))
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

#[derive(ApiResponse)]
enum SignedUp {
    /// Signed up and signed in; the token response must not be cached.
    #[oai(status = 201)]
    Created(
        Json<TokenResponse>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
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
    /// an account already is not said here; signing up says it (`409`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<CreateInvitation>,
    ) -> ApiResult<Created, set::CreateUser> {
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
    /// `409`.
    #[oai(path = "/:id/resend", method = "post")]
    async fn resend(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<Invitation>, set::Transition> {
        let scope = state
            .begin(&me, Resource::Invitations, Action::Update)
            .await?;
        let resent = invitations::resend(&state, &scope, id).await?;
        scope.commit().await?;
        Ok(Json(resent.into()))
    }
}

pub struct SignupApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl SignupApi {
    /// Sign up with an invitation, or with an email where open signup is enabled; signed in.
    ///
    /// Send exactly one of `invitation_token` and `email` (422 naming both otherwise).
    ///
    /// **With an invitation:** anyone holding a live invitation token. The invited email, role
    /// and dealership become a user (the email counts as verified). It works once, even for
    /// many requests at once; it is refused (`422` on `invitation_token`) after use, expiry,
    /// revocation or a resend, and for a suspended or deleted dealership. While the address
    /// belongs to a live user the answer is `409` and the invitation stays usable.
    ///
    /// **Without an invitation** (`email`): only when `auth.open_signup.enabled` (otherwise
    /// `403`, "signup needs an invitation"), only into the configured dealership
    /// (`auth.open_signup.dealership_id`; `403` while it is suspended or deleted), always as
    /// `agent` (a `role` or `dealership_id` in the body is ignored), with the email
    /// unverified: a verification link is mailed. Every attempt is throttled per client IP
    /// and per address (`429` with `Retry-After`). An address of a live user is `409`: open
    /// signup necessarily tells whether an address is free, and the throttle bounds how
    /// fast. With `auth.require_verified_email` the user is created and mailed but the
    /// answer is `403 email_not_verified`, as login's would be.
    ///
    /// Either way the password policy applies (`422` on `password`).
    #[oai(path = "/signup", method = "post")]
    async fn signup(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<SignupRequest>,
    ) -> ApiResult<SignedUp, set::Signup> {
        let (admission, signup) = body.parse()?;
        let meta = request_meta(req, &state);
        let issued = match admission {
            Admission::Invitation(token) => signup::signup(&state, &token, signup, &meta).await?,
            Admission::Open(email) => open_signup::signup(&state, email, signup, &meta).await?,
        };
        let cookie = refresh_cookie(&state, &issued);
        let cookie_mode = state.settings.auth.cookie_mode;
        Ok(SignedUp::Created(
            Json(TokenResponse::new(issued, cookie_mode)),
            "no-store".into(),
            cookie,
        ))
    }
}
