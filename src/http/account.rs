//! `/api/v1/auth/me`, `/password` and `/sessions`: the caller's own account and sessions.

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json, types::Example};
use uuid::Uuid;

use super::{
    ApiTags,
    auth::clear_cookie,
    dto::{Session, User, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields,
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{PersonName, Phone},
    error::AppError,
    service::{account, oauth::consents, sessions, users::ProfileChange},
    state::AppState,
};

#[derive(Object)]
#[oai(example)]
struct ProfileUpdate {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    first_name: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    last_name: Option<String>,
    /// International form, stored as E.164; it signs in too, so it must be no other live
    /// user's (409). An empty string clears it.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    phone: Option<String>,
}

impl Example for ProfileUpdate {
    fn example() -> Self {
        Self {
            first_name: Some("Alice".into()),
            last_name: Some("Premium".into()),
            phone: Some("+1 312 555 0100".into()),
        }
    }
}

impl ProfileUpdate {
    fn parse(self) -> Result<ProfileChange, AppError> {
        let optional = |raw: &Option<String>| raw.as_deref().map(PersonName::parse).transpose();
        let (first_name, last_name, phone) = fields::check((
            ("first_name", optional(&self.first_name)),
            ("last_name", optional(&self.last_name)),
            (
                "phone",
                fields::clearable(self.phone.as_deref(), Phone::parse),
            ),
        ))?;
        Ok(ProfileChange {
            first_name,
            last_name,
            phone,
        })
    }
}

#[derive(Object)]
struct PasswordChange {
    #[oai(deserialize_with = "json_string")]
    current_password: String,
    #[oai(deserialize_with = "json_string")]
    new_password: String,
}

#[derive(Object)]
struct AccountClosing {
    /// The caller's password, asked again: closing cannot be undone through the API.
    #[oai(deserialize_with = "json_string")]
    current_password: String,
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] Option<String>),
}

pub struct AccountApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl AccountApi {
    /// The caller's own user (served from the replica's cache in the common case).
    ///
    /// **Permissions:** `users:read` at `self` scope.
    #[oai(path = "/me", method = "get")]
    async fn me(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<User>, set::Caller> {
        let grant = state.grant_own(&me, Resource::Users, Action::Read)?;
        let profile = account::profile(&state, &grant).await?;
        Ok(Json(profile.into()))
    }

    /// Change the caller's name or phone.
    ///
    /// **Permissions:** `users:update` at `self` scope. The sign-in email changes at
    /// `POST /auth/email`, with the current password and a confirmation from the new mailbox.
    /// A phone another live user holds is `409`; such tries are counted like failed logins, and
    /// past the lockout's limit a phone change answers `429` with `Retry-After`.
    #[oai(path = "/me", method = "patch")]
    async fn update_me(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<ProfileUpdate>,
    ) -> ApiResult<Json<User>, set::CallerUpdate> {
        let grant = state.grant_own(&me, Resource::Users, Action::Update)?;
        let user = account::update_me(&state, &grant, body.parse()?).await?;
        Ok(Json(user.into()))
    }

    /// Change the caller's password; every other session of theirs ends.
    ///
    /// **Permissions:** `users:update` at `self` scope, and the current password.
    #[oai(path = "/password", method = "post")]
    async fn change_password(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<PasswordChange>,
    ) -> ApiResult<Done, set::PasswordChange> {
        let grant = state.grant_own(&me, Resource::Users, Action::Update)?;
        let PasswordChange {
            current_password,
            new_password,
        } = body;
        account::change_password(&state, &grant, current_password, new_password).await?;
        Ok(Done::NoContent(None))
    }

    /// Close the caller's own account.
    ///
    /// A soft delete (the email becomes free for a new user); every session ends on every
    /// replica and a notice is mailed. Refused (409) for the last active principal of an active
    /// dealership and for the last active admin: make someone else one first.
    ///
    /// **Permissions:** `users:delete` at `self` scope, and the current password.
    #[oai(path = "/me", method = "delete")]
    async fn close_me(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<AccountClosing>,
    ) -> ApiResult<Done, set::AccountClosing> {
        let grant = state.grant_own(&me, Resource::Users, Action::Delete)?;
        account::close(&state, &grant, body.current_password).await?;
        Ok(Done::NoContent(clear_cookie(&state)))
    }

    /// Leave one dealership: the caller's membership there ends, the account and the other
    /// memberships stay.
    ///
    /// Every session using that membership ends at once, on every replica. A caller with an
    /// authenticator app confirms a recent code first (`403 step_up_required`). `404` where the
    /// caller has no membership, `422` for their only one (close the account with
    /// `DELETE /api/v1/auth/me`), `409` for the last active principal of that dealership.
    ///
    /// **Permissions:** `users:delete` at `self` scope, on the caller's own memberships.
    #[oai(path = "/memberships/:dealership_id", method = "delete")]
    async fn leave(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(dealership_id): Path<Uuid>,
    ) -> ApiResult<Done, set::Leaving> {
        let grant = state.grant_own(&me, Resource::Users, Action::Delete)?;
        account::leave(&state, &grant, dealership_id).await?;
        Ok(Done::NoContent(None))
    }

    /// The caller's live sessions, newest first; `current` marks this one.
    ///
    /// **Permissions:** `sessions:list` at `self` scope.
    #[oai(path = "/sessions", method = "get")]
    async fn sessions(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<Vec<Session>>, set::Caller> {
        let scope = state
            .begin_own(&me, Resource::Sessions, Action::List)
            .await?;
        let live = sessions::list_own(&scope).await?;
        scope.commit().await?;
        let current = me.session_id;
        Ok(Json(
            live.into_iter().map(|s| Session::new(s, current)).collect(),
        ))
    }

    /// End one of the caller's sessions (another device, or this one).
    ///
    /// **Permissions:** `sessions:delete` at `self` scope.
    #[oai(path = "/sessions/:id", method = "delete")]
    async fn end_session(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state
            .begin_own(&me, Resource::Sessions, Action::Delete)
            .await?;
        sessions::end_own(&scope, id, "ended_by_user").await?;
        scope.commit().await?;
        Ok(Done::NoContent(None))
    }

    /// The apps (OpenID clients) the caller allowed to see their account, with what each may
    /// see. First-party apps of the platform never ask, so they are not listed.
    ///
    /// **Permissions:** `sessions:list` at `self` scope.
    #[oai(path = "/consents", method = "get")]
    async fn consents(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<Vec<Consent>>, set::Caller> {
        let scope = state
            .begin_own(&me, Resource::Sessions, Action::List)
            .await?;
        let granted = consents::list_own(&scope).await?;
        scope.commit().await?;
        Ok(Json(granted.into_iter().map(Consent::from).collect()))
    }

    /// Withdraw the consent to an app: its tokens of the caller stop working at once.
    ///
    /// **Permissions:** `sessions:delete` at `self` scope.
    #[oai(path = "/consents/:client_id", method = "delete")]
    async fn revoke_consent(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(client_id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state
            .begin_own(&me, Resource::Sessions, Action::Delete)
            .await?;
        consents::revoke_own(&scope, client_id).await?;
        scope.commit().await?;
        Ok(Done::NoContent(None))
    }
}

/// An app the caller allowed.
#[derive(Object)]
struct Consent {
    client_id: Uuid,
    name: String,
    /// What it may see (OpenID scopes).
    scopes: Vec<String>,
    granted_at: chrono::DateTime<chrono::Utc>,
}

impl From<consents::Consent> for Consent {
    fn from(c: consents::Consent) -> Self {
        Self {
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes,
            granted_at: c.granted_at,
        }
    }
}
