//! `/api/v1/users`: the staff directory and its management.

use poem::{Request, web::Data};
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
    security::{BearerAuth, request_meta},
};
use crate::{
    auth::password,
    auth::revocation::Revoked,
    authz::{Action, Resource},
    domain::{Email, NewPassword, PersonName, Phone, Role},
    error::{AppError, FieldError},
    service::{
        Page,
        users::{
            ProfileChange, directory,
            directory::UserFilter,
            manage::{self, NewUser, UserChange},
        },
    },
    state::AppState,
};

#[derive(Object)]
#[oai(example)]
struct CreateUser {
    #[oai(deserialize_with = "json_string")]
    email: String,
    #[oai(deserialize_with = "json_string")]
    password: String,
    #[oai(deserialize_with = "json_string")]
    first_name: String,
    #[oai(deserialize_with = "json_string")]
    last_name: String,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    phone: Option<String>,
    role: Role,
    /// Required for staff created by an admin; a principal's staff join the principal's dealership.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
}

impl Example for CreateUser {
    fn example() -> Self {
        Self {
            email: "new.agent@premiumauto.com".into(),
            password: "a long enough passphrase".into(),
            first_name: "Nora".into(),
            last_name: "Newman".into(),
            phone: Some("+1 312 555 0101".into()),
            role: Role::Agent,
            dealership_id: Some(uuid::uuid!("0193a5f0-0000-7000-8000-000000000001")),
        }
    }
}

#[derive(Object)]
#[oai(example)]
struct UpdateUser {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    email: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    first_name: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    last_name: Option<String>,
    /// An empty string clears it.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    phone: Option<String>,
    #[oai(nullable)]
    role: Option<Role>,
    #[oai(nullable)]
    is_active: Option<bool>,
    /// A new password for someone else (users change their own at `/auth/password`).
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    password: Option<String>,
}

impl Example for UpdateUser {
    fn example() -> Self {
        Self {
            email: None,
            first_name: Some("Nora".into()),
            last_name: None,
            phone: Some("+1 312 555 0102".into()),
            role: None,
            is_active: None,
            password: None,
        }
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
        auth: BearerAuth,
        state: Data<&AppState>,
        role: Query<Option<Role>>,
        is_active: Query<Option<bool>>,
        dealership_id: Query<Option<Uuid>>,
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<UserList, set::Listing> {
        let reach = state.authz.grant(&auth.0, Resource::Users, Action::List)?;
        let page = Page::parse(limit.0, offset.0)?;
        let filter = UserFilter {
            role: role.0,
            is_active: is_active.0,
            dealership_id: dealership_id.0,
            q: q.0,
        };
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let (users, total) = directory::list(&tx, &auth.0, reach, &filter, page).await?;
        tx.commit().await?;
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
        auth: BearerAuth,
        state: Data<&AppState>,
        role: Query<Option<Role>>,
        is_active: Query<Option<bool>>,
        dealership_id: Query<Option<Uuid>>,
        q: Query<Option<String>>,
    ) -> ApiResult<Json<Count>, set::Caller> {
        let reach = state.authz.grant(&auth.0, Resource::Users, Action::List)?;
        let filter = UserFilter {
            role: role.0,
            is_active: is_active.0,
            dealership_id: dealership_id.0,
            q: q.0,
        };
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let count = directory::count(&tx, &auth.0, reach, &filter).await?;
        tx.commit().await?;
        Ok(Json(Count { count }))
    }

    /// Create a user, at most of the caller's own rank.
    ///
    /// **Permissions:** `users:create` at the caller's widest scope.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        body: Json<CreateUser>,
    ) -> ApiResult<Created, set::CreateUser> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Users, Action::Create)?;
        let body = body.0;
        let (email, new_password, first_name, last_name, phone) = fields::check((
            ("email", Email::parse(&body.email)),
            (
                "password",
                NewPassword::parse(&body.password, Some(&body.email)),
            ),
            ("first_name", PersonName::parse(&body.first_name)),
            ("last_name", PersonName::parse(&body.last_name)),
            (
                "phone",
                fields::optional(body.phone.as_deref(), Phone::parse),
            ),
        ))?;
        let hash = password::hash(new_password.expose().to_owned()).await?;
        let new = NewUser {
            email,
            password: new_password,
            first_name,
            last_name,
            phone,
            role: body.role,
            dealership_id: body.dealership_id,
        };
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let user =
            manage::create(&tx, &auth.0, reach, new, hash, &request_meta(req, &state)).await?;
        tx.commit().await?;
        Ok(Created::Created(Json(user.into())))
    }

    /// One user.
    ///
    /// **Permissions:** `users:read` at the target's scope (anyone may read themselves).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<User>, set::Lookup> {
        let reach = state.authz.grant(&auth.0, Resource::Users, Action::Read)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let user = directory::get(&tx, &auth.0, reach, id.0).await?;
        tx.commit().await?;
        Ok(Json(user.into()))
    }

    /// Edit a user; role changes, deactivation and password resets end their sessions.
    ///
    /// **Permissions:** `users:update` at the target's scope, on users up to the caller's rank.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
        body: Json<UpdateUser>,
    ) -> ApiResult<Json<User>, set::Edit> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Users, Action::Update)?;
        let body = body.0;
        if body.password.is_some() && id.0 == auth.0.user_id {
            return Err(AppError::Validation(vec![FieldError::new(
                "password",
                "change your own at /api/v1/auth/password",
            )])
            .into());
        }
        let (email, new_password, first_name, last_name, phone) = fields::check((
            ("email", body.email.as_deref().map(Email::parse).transpose()),
            (
                "password",
                body.password
                    .as_deref()
                    .map(|p| NewPassword::parse(p, None))
                    .transpose(),
            ),
            (
                "first_name",
                body.first_name
                    .as_deref()
                    .map(PersonName::parse)
                    .transpose(),
            ),
            (
                "last_name",
                body.last_name.as_deref().map(PersonName::parse).transpose(),
            ),
            (
                "phone",
                fields::clearable(body.phone.as_deref(), Phone::parse),
            ),
        ))?;
        let profile = ProfileChange {
            first_name,
            last_name,
            phone,
        };
        let password_hash = match new_password {
            Some(p) => Some(password::hash(p.expose().to_owned()).await?),
            None => None,
        };
        let change = UserChange {
            email,
            profile,
            role: body.role,
            is_active: body.is_active,
            password_hash,
        };
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let user = manage::update(
            &tx,
            &auth.0,
            reach,
            id.0,
            change,
            &request_meta(req, &state),
        )
        .await?;
        tx.commit().await?;
        state.revoked(Revoked::User(id.0)).await;
        Ok(Json(user.into()))
    }

    /// Flip a user's `is_active`; deactivation ends their sessions. Not on yourself.
    ///
    /// **Permissions:** `users:update` at the target's scope, on users up to the caller's rank.
    #[oai(path = "/:id/toggle-active", method = "patch")]
    async fn toggle_active(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<User>, set::Removal> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Users, Action::Update)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let user =
            manage::toggle_active(&tx, &auth.0, reach, id.0, &request_meta(req, &state)).await?;
        tx.commit().await?;
        state.revoked(Revoked::User(id.0)).await;
        Ok(Json(user.into()))
    }

    /// Soft-delete a user: their email becomes free and their sessions end. Not on yourself.
    ///
    /// **Permissions:** `users:delete` at the target's scope, on users up to the caller's rank.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Done, set::Removal> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Users, Action::Delete)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        manage::delete(&tx, &auth.0, reach, id.0, &request_meta(req, &state)).await?;
        tx.commit().await?;
        state.revoked(Revoked::User(id.0)).await;
        Ok(Done::NoContent)
    }

    /// End every session of a user.
    ///
    /// **Permissions:** `sessions:delete` at the target's scope.
    #[oai(path = "/:id/sessions/revoke", method = "post")]
    async fn revoke_sessions(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Sessions, Action::Delete)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        manage::end_sessions(&tx, &auth.0, reach, id.0, &request_meta(req, &state)).await?;
        tx.commit().await?;
        state.revoked(Revoked::User(id.0)).await;
        Ok(Done::NoContent)
    }
}
