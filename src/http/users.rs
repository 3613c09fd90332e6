//! `/api/v1/users`: the staff directory and its management.

use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{Count, User, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields,
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{Email, NewPassword, PersonName, Phone, Role, RoleName},
    error::{AppError, FieldError},
    service::{
        Page, mfa,
        users::{
            ProfileChange, directory,
            directory::UserFilter,
            edit::{self, UserChange},
            manage::{self, Asked, NewUser},
            people,
        },
    },
    state::AppState,
};

#[derive(Object)]
#[oai(example)]
pub(crate) struct CreateUser {
    #[oai(deserialize_with = "json_string")]
    pub(crate) email: String,
    #[oai(deserialize_with = "json_string")]
    pub(crate) password: String,
    #[oai(deserialize_with = "json_string")]
    pub(crate) first_name: String,
    #[oai(deserialize_with = "json_string")]
    pub(crate) last_name: String,
    /// International form, stored as E.164; the user can sign in with it, so no other live
    /// user may have it (409). Blank or left out: no phone.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) phone: Option<String>,
    /// `admin`, `principal`, `manager`, `agent`, or the name of a custom role of the user's
    /// dealership (see `/roles`) whose permissions the caller holds.
    #[oai(deserialize_with = "json_string")]
    pub(crate) role: String,
    /// Required for staff created by an admin; a principal's staff join the principal's dealership.
    #[oai(nullable)]
    pub(crate) dealership_id: Option<Uuid>,
}

impl Example for CreateUser {
    fn example() -> Self {
        Self {
            email: "new.agent@premiumauto.com".into(),
            password: "a long enough passphrase".into(),
            first_name: "Nora".into(),
            last_name: "Newman".into(),
            phone: Some("+1 312 555 0181".into()),
            role: "agent".into(),
            dealership_id: Some(uuid::uuid!("0193a5f0-0000-7000-8000-000000000001")),
        }
    }
}

/// Whose person merges into the one of the path's user.
#[derive(Object)]
struct MergeRequest {
    /// A user (membership) of the person to merge and close.
    from: Uuid,
}

#[derive(Object)]
#[oai(example)]
pub(crate) struct UpdateUser {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) email: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) first_name: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) last_name: Option<String>,
    /// International form, stored as E.164 and unique among live users (409); an empty string
    /// clears it.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) phone: Option<String>,
    /// A built-in role or a custom role of the user's dealership, as for `POST /users`.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) role: Option<String>,
    #[oai(nullable)]
    pub(crate) is_active: Option<bool>,
    /// A new password for someone else (users change their own at `/auth/password`).
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    pub(crate) password: Option<String>,
}

impl Example for UpdateUser {
    fn example() -> Self {
        Self {
            email: None,
            first_name: Some("Nora".into()),
            last_name: None,
            phone: Some("+1 312 555 0182".into()),
            role: None,
            is_active: None,
            password: None,
        }
    }
}

impl CreateUser {
    /// Every invalid field at once, or the new user and what is asked for them.
    pub(crate) fn parse(self) -> Result<(NewUser, Asked), AppError> {
        let (email, password, first_name, last_name, phone, role) = fields::check((
            ("email", Email::parse(&self.email)),
            (
                "password",
                NewPassword::parse(&self.password, Some(&self.email)),
            ),
            ("first_name", PersonName::parse(&self.first_name)),
            ("last_name", PersonName::parse(&self.last_name)),
            (
                "phone",
                fields::optional(self.phone.as_deref(), Phone::parse),
            ),
            ("role", RoleName::parse(&self.role)),
        ))?;
        let new = NewUser {
            email,
            password,
            first_name,
            last_name,
            phone,
        };
        let asked = Asked {
            role,
            dealership_id: self.dealership_id,
        };
        Ok((new, asked))
    }
}

impl UpdateUser {
    /// Every invalid field at once, or the change; `own` edits may not carry a password.
    pub(crate) fn parse(self, own: bool) -> Result<UserChange, AppError> {
        if own && self.password.is_some() {
            let field = FieldError::new("password", "change your own at /api/v1/auth/password");
            return Err(AppError::Validation(vec![field]));
        }
        let optional = |raw: &Option<String>| raw.as_deref().map(PersonName::parse).transpose();
        let password = self
            .password
            .as_deref()
            .map(|p| NewPassword::parse(p, None));
        let (email, password, first_name, last_name, phone, role) = fields::check((
            ("email", self.email.as_deref().map(Email::parse).transpose()),
            ("password", password.transpose()),
            ("first_name", optional(&self.first_name)),
            ("last_name", optional(&self.last_name)),
            (
                "phone",
                fields::clearable(self.phone.as_deref(), Phone::parse),
            ),
            (
                "role",
                self.role.as_deref().map(RoleName::parse).transpose(),
            ),
        ))?;
        Ok(UserChange {
            email,
            profile: ProfileChange {
                first_name,
                last_name,
                phone,
            },
            role,
            is_active: self.is_active,
            password,
        })
    }
}

#[derive(ApiResponse)]
enum UserList {
    /// A page of users, newest first; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<User>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<User>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct UsersApi;

#[allow(clippy::too_many_arguments)]
#[OpenApi(prefix_path = "/api/v1/users", tag = "ApiTags::Users")]
impl UsersApi {
    /// List users: all for admins, the caller's dealership for principals and managers.
    ///
    /// **Permissions:** `users:list` at the caller's widest scope.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(role): Query<Option<Role>>,
        Query(is_active): Query<Option<bool>>,
        Query(dealership_id): Query<Option<Uuid>>,
        Query(q): Query<Option<String>>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<UserList, set::Listing> {
        let scope = state.begin(&me, Resource::Users, Action::List).await?;
        let filter = UserFilter::new(role, is_active, dealership_id, q);
        let (users, total) = directory::list(&scope, &filter, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        Ok(UserList::Ok(
            Json(users.into_iter().map(User::from).collect()),
            total,
        ))
    }

    /// Count users with the same filters as the list.
    ///
    /// **Permissions:** `users:list` at the caller's widest scope.
    #[oai(path = "/count", method = "get")]
    async fn count(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(role): Query<Option<Role>>,
        Query(is_active): Query<Option<bool>>,
        Query(dealership_id): Query<Option<Uuid>>,
        Query(q): Query<Option<String>>,
    ) -> ApiResult<Json<Count>, set::Caller> {
        let scope = state.begin(&me, Resource::Users, Action::List).await?;
        let filter = UserFilter::new(role, is_active, dealership_id, q);
        let count = directory::count(&scope, &filter).await?;
        scope.commit().await?;
        Ok(Json(Count { count }))
    }

    /// Create a user, at most of the caller's own rank.
    ///
    /// **Permissions:** `users:create` at the caller's widest scope. An email or phone that an
    /// account holds is `409`, counted per caller: after `auth.lockout.account_max_failures`
    /// such answers in the window, `429` instead.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<CreateUser>,
    ) -> ApiResult<Created, set::CreateUser> {
        let (new, asked) = body.parse()?;
        let grant = state.grant(&me, Resource::Users, Action::Create)?;
        let user = manage::create(&state, &grant, new, asked).await?;
        Ok(Created::Created(Json(user.into())))
    }

    /// One user.
    ///
    /// **Permissions:** `users:read` at the target's scope (anyone may read themselves).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<User>, set::Lookup> {
        let scope = state.begin(&me, Resource::Users, Action::Read).await?;
        let user = directory::read(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(user.into()))
    }

    /// Edit a user; role changes, deactivation and password resets end their sessions.
    ///
    /// **Permissions:** `users:update` at the target's scope, on users up to the caller's rank.
    /// A taken email or phone is `409`, counted per caller as for creating a user (`429`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<UpdateUser>,
    ) -> ApiResult<Json<User>, set::EditUser> {
        let grant = state.grant(&me, Resource::Users, Action::Update)?;
        let change = body.parse(id == me.user_id)?;
        let user = edit::update(&state, &grant, id, change).await?;
        Ok(Json(user.into()))
    }

    /// Flip a user's `is_active`; deactivation ends their sessions. Not on yourself.
    ///
    /// **Permissions:** `users:update` at the target's scope, on users up to the caller's rank.
    #[oai(path = "/:id/toggle-active", method = "patch")]
    async fn toggle_active(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<User>, set::Removal> {
        let scope = state.begin(&me, Resource::Users, Action::Update).await?;
        let user = edit::toggle_active(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(user.into()))
    }

    /// Soft-delete a user: their email becomes free and their sessions end. Not on yourself.
    ///
    /// **Permissions:** `users:delete` at the target's scope, on users up to the caller's rank.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Removal> {
        let scope = state.begin(&me, Resource::Users, Action::Delete).await?;
        manage::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Merge two people into one: the user `id`'s person keeps its sign-in names, password and
    /// second factors and gains every membership of `from`'s person, which is closed.
    ///
    /// For staff with an account per rooftop: `from`'s sessions end everywhere, its factors and
    /// recovery codes go, its address is free again. `409` if both are members of one dealership; admins' accounts
    /// are never merged (`403`). Needs a recent second factor (`403 step_up_required`).
    ///
    /// **Permissions:** admins (`users:update` at `any` scope).
    #[oai(path = "/:id/merge", method = "post")]
    async fn merge(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<MergeRequest>,
    ) -> ApiResult<Json<User>, set::Edit> {
        let scope = state.begin(&me, Resource::Users, Action::Update).await?;
        let user = people::merge(&scope, id, body.from).await?;
        scope.commit().await?;
        Ok(Json(user.into()))
    }

    /// End every session of a user.
    ///
    /// **Permissions:** `sessions:delete` at the target's scope.
    #[oai(path = "/:id/sessions/revoke", method = "post")]
    async fn revoke_sessions(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state.begin(&me, Resource::Sessions, Action::Delete).await?;
        manage::end_sessions(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Reset a user's second factor (they lost their app and their recovery codes): every
    /// factor and recovery code goes, their sessions end, and they are mailed.
    ///
    /// **Permissions:** `users:update` at the target's scope; a principal only for users below
    /// their rank. Needs a recent second factor from a caller who has one.
    #[oai(path = "/:id/mfa", method = "delete")]
    async fn reset_mfa(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Removal> {
        let scope = state.begin(&me, Resource::Users, Action::Update).await?;
        scope.require_step_up().await?;
        mfa::reset::reset(&state, &scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }
}
