//! `/api/v1/auth`: sign in, stay signed in, sign out. The caller's own account and sessions are
//! in [`super::account`].

use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, Union,
    param::Cookie,
    payload::{Form, Json},
    types::Example,
};

use super::{
    ApiTags,
    dto::{TokenResponse, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self, Either},
    security::{BearerAuth, request_meta},
};
use uuid::Uuid;

use crate::{
    domain::{Email, Phone, SignInName},
    entity::membership::Place,
    error::AppError,
    service::{
        sessions,
        sign_in::{self, Issued, SignedIn},
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
    /// For a person in several dealerships: the one to sign in to (one of the answer's
    /// `user.memberships`); left out, the one used last.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
    /// For a member of a dealer group (`group_principal`, `group_manager`): sign in to the
    /// group instead (its `group_id` in `user.memberships`); leave out with `dealership_id`.
    #[oai(nullable)]
    group_id: Option<Uuid>,
}

impl Example for LoginRequest {
    fn example() -> Self {
        // a demo user of the dev profile (README, "Demo logins")
        Self {
            email: Some("agent@premiumauto.com".into()),
            phone: None,
            password: "Agent123!".into(),
            dealership_id: None,
            group_id: None,
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

/// Where to switch to: a dealership or a dealer group, exactly one.
#[derive(Object)]
struct SwitchRequest {
    /// A dealership the caller is a member of (`user.memberships` of a sign-in answer or of
    /// `GET /api/v1/auth/me`).
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
    /// A dealer group the caller holds a group role in (`group_id` in `user.memberships`).
    #[oai(nullable)]
    group_id: Option<Uuid>,
}

/// The place a sign-in or a switch names: 422 if both `dealership_id` and `group_id` are sent.
fn place_named(
    dealership_id: Option<Uuid>,
    group_id: Option<Uuid>,
) -> Result<Option<Place>, AppError> {
    Place::named(dealership_id, group_id)
        .ok_or_else(|| AppError::field("group_id", "send dealership_id or group_id, not both"))
}

#[derive(Object)]
struct RefreshRequest {
    /// The refresh token; omit it (send `{}`) in cookie mode.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    refresh_token: Option<String>,
}

/// The first step of a sign-in for a user with a second factor: no tokens yet.
#[derive(Object)]
pub(super) struct MfaChallenge {
    /// Always `true`: send `mfa_token` and a code to `POST /api/v1/auth/mfa/verify`.
    mfa_required: bool,
    /// Single-use, for this sign-in only; ends after `expires_in` seconds or a password change.
    mfa_token: String,
    expires_in: u64,
}

/// Tokens, or (for a user with a second factor) the challenge of the second step.
#[derive(Union)]
#[oai(one_of)]
#[allow(clippy::large_enum_variant)] // built once per sign-in and serialised at once
enum SignInAnswer {
    Tokens(TokenResponse),
    MfaRequired(MfaChallenge),
}

#[derive(ApiResponse)]
enum SignInIssue {
    /// Signed in (`TokenResponse`), or the password was right and a second factor is asked
    /// for (`MfaChallenge`); neither may be cached.
    #[oai(status = 200)]
    Ok(
        Json<SignInAnswer>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub(super) enum Issue {
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
    /// get the same 401. For a user with a second factor the answer is an `MfaChallenge`
    /// instead of tokens: finish at `POST /api/v1/auth/mfa/verify`.
    ///
    /// **Permissions:** anyone. Failed attempts are throttled per email or phone, as sent, and
    /// per client IP (429 with `Retry-After`).
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<LoginRequest>,
    ) -> ApiResult<SignInIssue, set::SignIn> {
        let place = place_named(body.dealership_id, body.group_id)?;
        let (name, password) = body.parse()?;
        sign_in(req, &state, name, password, place).await
    }

    /// Sign in with the OAuth2 password grant (form-encoded); `username` is the email or the
    /// phone number (a value starting with `+` is a phone). Like `/login`, a user with a
    /// second factor gets an `MfaChallenge` instead of tokens.
    ///
    /// **Permissions:** anyone; throttled like `/login`.
    #[oai(path = "/token", method = "post")]
    async fn token(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Form(form): Form<PasswordGrant>,
    ) -> ApiResult<SignInIssue, set::SignIn> {
        let (name, password) = form.parse()?;
        sign_in(req, &state, name, password, None).await
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
        let issued = sign_in::refresh(&state, &token, None, &request_meta(req, &state)).await?;
        Ok(issue(&state, issued))
    }

    /// Switch to another dealership of the caller's, without signing in again.
    ///
    /// Answers tokens for the caller's membership there, in the same sign-in: a new access
    /// token and the refresh token of a family of its own (the tokens held for the dealership
    /// left keep working, so each tab refreshes within its own dealership). The second factor
    /// proven at sign-in carries over; where the dealership requires one the person has not
    /// enrolled, the tokens are `must_enrol`. Logout and logout-all end every dealership's.
    ///
    /// **Permissions:** any signed-in user, into their own memberships (404 elsewhere).
    #[oai(path = "/switch", method = "post")]
    async fn switch(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<SwitchRequest>,
    ) -> ApiResult<Issue, set::Switch> {
        let place = place_named(body.dealership_id, body.group_id)?
            .ok_or_else(|| AppError::field("dealership_id", "send dealership_id or group_id"))?;
        let issued = sign_in::switch(&state, &me, place, &me.meta).await?;
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
        sessions::end_sign_ins(&scope, sessions::SignIns::Mine, "logout").await?;
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
        sessions::end_sign_ins(&scope, sessions::SignIns::All, "logout_all").await?;
        scope.commit().await?;
        Ok(Done::NoContent(clear_cookie(&state)))
    }
}

/// Both sign-in forms: the email or phone and the password to tokens.
async fn sign_in(
    req: &Request,
    state: &AppState,
    name: SignInName,
    password: String,
    place: Option<Place>,
) -> ApiResult<SignInIssue, set::SignIn> {
    let meta = request_meta(req, state);
    match sign_in::login(state, name, password, place, &meta).await? {
        SignedIn::Tokens(issued) => {
            let Issue::Ok(Json(tokens), cache, cookie) = issue(state, *issued);
            let answer = SignInAnswer::Tokens(tokens);
            Ok(SignInIssue::Ok(Json(answer), cache, cookie))
        }
        SignedIn::MfaRequired {
            mfa_token,
            expires_in,
        } => {
            let challenge = MfaChallenge {
                mfa_required: true,
                mfa_token,
                expires_in,
            };
            let answer = SignInAnswer::MfaRequired(challenge);
            Ok(SignInIssue::Ok(Json(answer), "no-store".into(), None))
        }
    }
}

pub(super) fn issue(state: &AppState, issued: Issued) -> Issue {
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

pub(super) fn clear_cookie(state: &AppState) -> Option<String> {
    state.settings.auth.cookie_mode.then(|| {
        format!(
            "{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={COOKIE_PATH}; Max-Age=0"
        )
    })
}
