//! `/api/v1/auth/password-reset`: recovering an account through its mailbox.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use super::{
    ApiTags,
    dto::json_string,
    error::{ApiResult, set},
    fields,
    security::request_meta,
};
use crate::{domain::Email, service::password_reset, state::AppState};

#[derive(Object)]
#[oai(example)]
struct ResetRequest {
    /// The account's email, matched case-insensitively.
    #[oai(deserialize_with = "json_string")]
    email: String,
}

impl Example for ResetRequest {
    fn example() -> Self {
        Self {
            email: "agent@premiumauto.com".into(),
        }
    }
}

#[derive(Object)]
struct ResetConfirm {
    /// The token of the mailed link (`token=` in its query).
    #[oai(deserialize_with = "json_string")]
    token: String,
    /// At least 8 and at most 128 characters, not a common password, not the email.
    #[oai(deserialize_with = "json_string")]
    new_password: String,
}

/// The one answer to every accepted reset request.
#[derive(Object)]
struct Accepted {
    message: String,
}

#[derive(ApiResponse)]
enum RequestAnswer {
    /// Accepted: if the address belongs to an account that may sign in, a link is on its way.
    /// The same answer, in about the same time, for every address.
    #[oai(status = 202)]
    Accepted(Json<Accepted>),
}

#[derive(ApiResponse)]
enum ConfirmAnswer {
    /// The password is changed; every session of the account has ended.
    #[oai(status = 204)]
    NoContent,
}

pub struct RecoveryApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "ApiTags::Auth")]
impl RecoveryApi {
    /// Ask for a password-reset link by email.
    ///
    /// **Permissions:** anyone. Always `202` with the same body, whether or not the address
    /// has an account (no enumeration). The link holds a single-use token, valid for
    /// `mail.password_reset_ttl_secs` (30 minutes by default); a newer request voids older
    /// links. Requests are throttled per address and per client IP like failed logins (`429`
    /// with `Retry-After`).
    #[oai(path = "/password-reset", method = "post")]
    async fn request(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<ResetRequest>,
    ) -> ApiResult<RequestAnswer, set::MailRequest> {
        let email = fields::one("email", Email::parse(&body.email))?;
        password_reset::request(&state, email, &request_meta(req, &state)).await?;
        Ok(RequestAnswer::Accepted(Json(Accepted {
            message: "If this address belongs to an account, a reset link has been sent to it."
                .into(),
        })))
    }

    /// Set a new password with the token of a reset link.
    ///
    /// **Permissions:** anyone holding a live reset token. The token works once; it is refused
    /// (`422` on `token`) after use, after expiry, after any other change of the password, and
    /// for an inactive user or a suspended dealership. The password policy applies (`422` on
    /// `new_password`). Every session of the user ends at once on every replica, and a "your
    /// password was changed" notice is mailed.
    #[oai(path = "/password-reset/confirm", method = "post")]
    async fn confirm(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<ResetConfirm>,
    ) -> ApiResult<ConfirmAnswer, set::TokenUse> {
        let meta = request_meta(req, &state);
        password_reset::confirm(&state, &body.token, &body.new_password, &meta).await?;
        Ok(ConfirmAnswer::NoContent)
    }
}
