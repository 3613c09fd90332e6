//! `/api/v1/auth/email`: the caller moves their account to another address, which takes effect
//! only once that mailbox confirms it.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use super::{
    ApiTags,
    dto::json_string,
    error::{ApiResult, set},
    fields,
    recovery::Accepted,
    security::{BearerAuth, request_meta},
};
use crate::{
    authz::{Action, Resource},
    domain::Email,
    service::email_change,
    state::AppState,
};

#[derive(Object)]
#[oai(example)]
struct EmailChangeRequest {
    /// The address to sign in with from now on, once it is confirmed.
    #[oai(deserialize_with = "json_string")]
    new_email: String,
    #[oai(deserialize_with = "json_string")]
    current_password: String,
}

impl Example for EmailChangeRequest {
    fn example() -> Self {
        Self {
            new_email: "alice.new@premiumauto.com".into(),
            current_password: "Agent123!".into(),
        }
    }
}

#[derive(Object)]
struct EmailChangeConfirm {
    /// The token of the mailed confirmation link (`token=` in its query).
    #[oai(deserialize_with = "json_string")]
    token: String,
}

#[derive(ApiResponse)]
enum RequestAnswer {
    /// Accepted: a confirmation link is on its way to the new address and a notice to the
    /// current one. Nothing changes until the link is used.
    #[oai(status = 202)]
    Accepted(Json<Accepted>),
}

#[derive(ApiResponse)]
enum ConfirmAnswer {
    /// Done: the new address is the account's sign-in email, verified; every other session of
    /// the account has ended, and the asking session's access token too (it refreshes).
    #[oai(status = 204)]
    NoContent,
}

pub struct EmailChangeApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl EmailChangeApi {
    /// Ask to change the caller's sign-in email.
    ///
    /// **Permissions:** `users:update` at `self` scope, and the current password (a wrong one
    /// is `422` on `current_password`, throttled like a login: `429` with `Retry-After`). The
    /// new address gets a single-use link, valid for `mail.email_change_ttl_secs` (a day by
    /// default), and the current address a notice; a newer request voids older links, and so
    /// does any password change. Messages to one address are throttled (`429`). Whether the
    /// address already has an account is not said here; the confirmation says it (`409`).
    #[oai(path = "/email", method = "post")]
    async fn request(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<EmailChangeRequest>,
    ) -> ApiResult<RequestAnswer, set::PasswordChange> {
        let grant = state.grant_own(&me, Resource::Users, Action::Update)?;
        let new_email = fields::one("new_email", Email::parse(&body.new_email))?;
        email_change::request(&state, &grant, new_email, body.current_password).await?;
        Ok(RequestAnswer::Accepted(Json(Accepted {
            message: "A confirmation link has been sent to the new address.".into(),
        })))
    }

    /// Confirm an email change with the token of its mailed link.
    ///
    /// **Permissions:** anyone holding a live confirmation token. The token works once; it is
    /// refused (`422` on `token`) after use, after expiry, after the email or the password
    /// changed otherwise, and for an inactive user or a suspended dealership. `409` if the
    /// address belongs to another account by now. The address counts as verified.
    #[oai(path = "/email/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<EmailChangeConfirm>,
    ) -> ApiResult<ConfirmAnswer, set::EmailConfirm> {
        email_change::confirm(&state, &body.token, &request_meta(req, &state)).await?;
        Ok(ConfirmAnswer::NoContent)
    }
}
