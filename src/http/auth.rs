//! `/api/v1/auth`: sign in, stay signed in, sign out, and the caller's own account and sessions.

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Cookie, Path},
    payload::{Form, Json},
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{Session, TokenResponse, User, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self, Either},
    security::{BearerAuth, request_meta},
};
use crate::{
    authz::{Action, Resource},
    domain::{Email, PersonName, Phone, SignInName},
    error::AppError,
    service::{
        account, sessions,
        sign_in::{self, Issued},
        users::ProfileChange,
    },
    state::AppState,
};

const REFRESH_COOKIE: &str = "dealergate_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";

/// Exactly one of `email` and `phone`, and the password.
#[derive(Object)]
#[oai(example)]
struct LoginRequest {
    /// Sign in by email address (matched case-insensitively); leave out with `phone`.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    email: Option<String>,
    /// Sign in by phone number instead, in international form (`+1 312 555 0101`, any
    /// spacing or `-().`), matched as E.164; leave out with `email`.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    phone: Option<String>,
    #[oai(deserialize_with = "json_string")]
    password: String,
}

impl Example for LoginRequest {
    fn example() -> Self {
        // a demo user of the dev profile (README, "Demo logins")
        Self {
            email: Some("agent@premiumauto.com".into()),
            phone: None,
            password: "Agent123!".into(),
        }
    }
}

impl LoginRequest {
    /// The name to sign in as (422 naming both fields unless exactly one is sent) and the
    /// password.
    fn parse(self) -> Result<(SignInName, String), AppError> {
        let sent = fields::either(
            ("email", self.email.as_deref()),
            ("phone", self.phone.as_deref()),
        )?;
        let name = match sent {
            Either::First(email) => {
                fields::one("email", Email::parse(email).map(SignInName::Email))?
            }
            Either::Second(phone) => {
                fields::one("phone", Phone::parse(phone).map(SignInName::Phone))?
            }
        };
        Ok((name, self.password))
    }
}

/// The OAuth2 password grant (RFC 6749 §4.3), for Swagger UI's Authorize and OAuth2 clients.
#[derive(Object, serde::Deserialize)]
#[oai(example)]
struct PasswordGrant {
    /// Must be `password`.
    grant_type: String,
    /// The email address, or the phone number in international form: a value starting with
    /// `+` (`+1 312 555 0101`) is read as a phone, anything else as an email.
    username: String,
    password: String,
}

impl Example for PasswordGrant {
    fn example() -> Self {
        Self {
            grant_type: "password".into(),
            username: "agent@premiumauto.com".into(),
            password: "Agent123!".into(),
        }
    }
}

impl PasswordGrant {
    /// The name to sign in as, read from `username`, and the password.
    fn parse(self) -> Result<(SignInName, String), AppError> {
        if self.grant_type != "password" {
            return Err(AppError::field("grant_type", "must be `password`"));
        }
        let name = fields::one("username", SignInName::parse_username(&self.username))?;
        Ok((name, self.password))
    }
}

#[derive(Object)]
struct RefreshRequest {
    /// The refresh token; omit it (send `{}`) in cookie mode.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    refresh_token: Option<String>,
}

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
enum Issue {
    /// Signed in; the token response must not be cached.
    #[oai(status = 200)]
    Ok(
        Json<TokenResponse>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] Option<String>),
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Sign in with an email address or a phone number, and the password.
    ///
    /// Send exactly one of `email` and `phone` (422 naming both otherwise). A phone is written
    /// in international form and matched as E.164, so `+1 (312) 555-0101` and `+13125550101`
    /// are the same number. An unknown email or phone, a wrong password and an inactive account
    /// get the same 401.
    ///
    /// **Permissions:** anyone. Failed attempts are throttled per email or phone, as sent, and
    /// per client IP (429 with `Retry-After`).
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<LoginRequest>,
    ) -> ApiResult<Issue, set::SignIn> {
        let (name, password) = body.parse()?;
        sign_in(req, &state, name, password).await
    }

    /// Sign in with the OAuth2 password grant (form-encoded); `username` is the email or the
    /// phone number (a value starting with `+` is a phone).
    ///
    /// **Permissions:** anyone; throttled like `/login`.
    #[oai(path = "/token", method = "post")]
    async fn token(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Form(form): Form<PasswordGrant>,
    ) -> ApiResult<Issue, set::SignIn> {
        let (name, password) = form.parse()?;
        sign_in(req, &state, name, password).await
    }

    /// Exchange a refresh token for new tokens; the refresh token rotates on every use.
    ///
    /// **Permissions:** anyone holding a live refresh token (body, or cookie in cookie mode).
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<RefreshRequest>,
        #[oai(name = "dealergate_refresh")] Cookie(cookie): Cookie<Option<String>>,
    ) -> ApiResult<Issue, set::Refresh> {
        let token = body
            .refresh_token
            .or_else(|| cookie.filter(|_| state.settings.auth.cookie_mode))
            .ok_or(AppError::Unauthenticated)?;
        let issued = sign_in::refresh(&state, &token, &request_meta(req, &state)).await?;
        Ok(issue(&state, issued))
    }

    /// End the current session.
    ///
    /// **Permissions:** any signed-in user, for their own session.
    #[oai(path = "/logout", method = "post")]
    async fn logout(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Done, set::Caller> {
        let scope = state.sign_out_scope(&me).await?;
        sessions::end(&scope, me.user_id, me.session_id, "logout").await?;
        scope.commit().await?;
        Ok(Done::NoContent(clear_cookie(&state)))
    }

    /// End every session of the caller, on every device.
    ///
    /// **Permissions:** any signed-in user, for their own sessions.
    #[oai(path = "/logout-all", method = "post")]
    async fn logout_all(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Done, set::Caller> {
        let scope = state.sign_out_scope(&me).await?;
        sessions::end_all_own(&scope, None, "logout_all").await?;
        scope.commit().await?;
        Ok(Done::NoContent(clear_cookie(&state)))
    }

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
}

/// Both sign-in forms: the email or phone and the password to tokens.
async fn sign_in(
    req: &Request,
    state: &AppState,
    name: SignInName,
    password: String,
) -> ApiResult<Issue, set::SignIn> {
    let issued = sign_in::login(state, name, password, &request_meta(req, state)).await?;
    Ok(issue(state, issued))
}

fn issue(state: &AppState, issued: Issued) -> Issue {
    let auth = &state.settings.auth;
    let cookie = refresh_cookie(state, &issued);
    Issue::Ok(
        Json(TokenResponse::new(issued, auth.cookie_mode)),
        "no-store".into(),
        cookie,
    )
}

/// In cookie mode, the `Set-Cookie` that carries the new refresh token.
pub(super) fn refresh_cookie(state: &AppState, issued: &Issued) -> Option<String> {
    let auth = &state.settings.auth;
    auth.cookie_mode.then(|| {
        format!(
            "{REFRESH_COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path={COOKIE_PATH}; Max-Age={}",
            issued.refresh_token.expose(),
            auth.refresh_token_ttl_secs
        )
    })
}

fn clear_cookie(state: &AppState) -> Option<String> {
    state.settings.auth.cookie_mode.then(|| {
        format!(
            "{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={COOKIE_PATH}; Max-Age=0"
        )
    })
}
