//! `/api/v1/auth/signup`: the invited person signs up with the mailed link's token, or, where
//! `auth.open_signup` allows it, anyone with an address joins the configured dealership.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use super::{
    ApiTags,
    auth::refresh_cookie,
    dto::{TokenResponse, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields::{self, Either},
    security::request_meta,
};
use crate::{
    domain::{Email, PersonName, Phone},
    error::AppError,
    service::{
        invitations::{
            join,
            signup::{self, Signup},
        },
        open_signup,
    },
    state::AppState,
};

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

/// An invitation to an existing account, and that account's password.
#[derive(Object)]
struct JoinRequest {
    /// The token of the mailed invitation link (`token=` in its query).
    #[oai(deserialize_with = "json_string")]
    invitation_token: String,
    /// The password the invited email signs in with.
    #[oai(deserialize_with = "json_string")]
    password: String,
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
enum SignedUp {
    /// Signed up and signed in; the token response must not be cached.
    #[oai(status = 201)]
    Created(
        Json<TokenResponse>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
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
    /// belongs to someone the answer is `409`, saying to accept it at `POST /api/v1/auth/join`
    /// with that account's password instead; the invitation stays usable.
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

    /// Accept an invitation to an address that signs in already: one more dealership for the
    /// same person; signed in there.
    ///
    /// The invited role and dealership become a membership of the person who signs in with the
    /// invited email, proven by their password (checked and throttled as a login is: a wrong
    /// pair is `401`, `429` when locked). The invitation works once, as for a signup (`422` on
    /// `invitation_token` after use, expiry, revocation or a resend); `409` if the person is a
    /// member of that dealership already. Every attempt counts against the invitation too.
    ///
    /// **Permissions:** anyone holding a live invitation token and the invited account's
    /// password.
    #[oai(path = "/join", method = "post")]
    async fn join(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<JoinRequest>,
    ) -> ApiResult<SignedUp, set::Join> {
        let meta = request_meta(req, &state);
        let issued = join::join(&state, &body.invitation_token, body.password, &meta).await?;
        let cookie = refresh_cookie(&state, &issued);
        let cookie_mode = state.settings.auth.cookie_mode;
        Ok(SignedUp::Created(
            Json(TokenResponse::new(issued, cookie_mode)),
            "no-store".into(),
            cookie,
        ))
    }
}
