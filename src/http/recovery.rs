//! `/api/v1/auth/password-reset` and `/verify-email`: what mailed links do — recover an
//! account through its mailbox, and confirm that the mailbox is the user's.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use super::{
    ApiTags,
    dto::json_string,
    error::{ApiResult, set},
    fields,
    security::{BearerAuth, request_meta},
};
use crate::{
    authz::{Action, Resource},
    domain::Email,
    service::{email_verification, password_reset},
    state::AppState,
};

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

#[derive(Object)]
struct VerifyEmail {
    /// The token of the mailed verification link (`token=` in its query).
    #[oai(deserialize_with = "json_string")]
    token: String,
}

/// The one answer to every accepted request for a mailed link.
#[derive(Object)]
pub(super) struct Accepted {
    pub message: String,
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
    /// Done: the password is changed (every session of the account has ended), or the address
    /// is verified.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum ResendAnswer {
    /// Accepted: unless the address is verified already, a new link is on its way (older links
    /// stop working).
    #[oai(status = 202)]
    Accepted(Json<Accepted>),
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

    /// Confirm the caller's email address with the token of a verification link.
    ///
    /// **Permissions:** anyone holding a live verification token (mailed when an administrator
    /// or principal creates the user, or on `/verify-email/resend`). The token works once and
    /// is refused (`422` on `token`) after use, after expiry (`mail.verify_email_ttl_secs`),
    /// after the address changed, and for an inactive user or a suspended dealership. With
    /// `auth.require_verified_email`, login answers `403 email_not_verified` until this is done.
    #[oai(path = "/verify-email", method = "post")]
    async fn verify_email(
        &self,
        req: &Request,
        state: Data<&AppState>,
        Json(body): Json<VerifyEmail>,
    ) -> ApiResult<ConfirmAnswer, set::TokenUse> {
        let meta = request_meta(req, &state);
        email_verification::verify(&state, &body.token, &meta).await?;
        Ok(ConfirmAnswer::NoContent)
    }

    /// Mail a new verification link to the caller's own address.
    ///
    /// **Permissions:** `users:update` at `self` scope. `202` whether or not the address is
    /// verified already (then nothing is sent); throttled per address and per client IP like
    /// failed logins (`429` with `Retry-After`).
    #[oai(path = "/verify-email/resend", method = "post")]
    async fn resend_verification(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<ResendAnswer, set::CallerMail> {
        let scope = state
            .begin_own(&me, Resource::Users, Action::Update)
            .await?;
        email_verification::resend(&state, &scope).await?;
        scope.commit().await?;
        Ok(ResendAnswer::Accepted(Json(Accepted {
            message: "Unless the address is verified already, a new link has been sent to it."
                .into(),
        })))
    }
}
