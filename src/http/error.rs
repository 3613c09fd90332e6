//! The one mapping from failures to the API's JSON error body (api.md, "Errors").

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse, Object,
    payload::Json,
    registry::{MetaResponses, Registry},
};

use super::request_id;
use crate::error::{AppError, FieldError};

#[derive(Debug, Object)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Object)]
pub struct ErrorDetail {
    /// A stable machine-readable kind: `validation_error`, `not_found`, …
    #[oai(rename = "type")]
    pub kind: String,
    pub message: String,
    /// The `X-Request-Id` of this request: quote it when reporting a problem.
    pub request_id: String,
    /// The invalid fields (422), the unreadable parameter (400) or the failing checks (503);
    /// always sent, empty for other errors, so clients can iterate it without a presence check.
    pub details: Vec<ErrorField>,
}

#[derive(Debug, Object)]
pub struct ErrorField {
    pub field: String,
    pub message: String,
}

/// Every error response the API gives, with its status.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// Malformed request: bad JSON, wrong content type, unreadable parameter.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, malformed, expired or revoked token, or bad credentials.
    #[oai(status = 401)]
    Unauthenticated(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// Authenticated, but the policy says no (or, at sign-in, `email_not_verified`; at signup,
    /// no invitation while open signup is off; `mfa_enrolment_required` for a session that may
    /// only enrol a second factor; `step_up_required` for a sensitive change without a recent
    /// second factor).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such thing in your view (another dealership's rows included).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// Duplicate email or dealership name, or the last active principal or admin closing
    /// their own account.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Body over the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// A header line or the whole header section over its limit.
    #[oai(status = 431)]
    HeadersTooLarge(Json<ErrorBody>),
    /// Well-formed but invalid fields; `details` lists them.
    #[oai(status = 422)]
    Validation(Json<ErrorBody>),
    /// Too many failed logins (or password-reset requests, or open signups).
    #[oai(status = 429)]
    RateLimited(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// A bug: the details are in the server log under the request id.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unreachable or not ready, or the server is too busy (then with
    /// `Retry-After`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] Option<u64>),
}

/// What a handler returns: its success, or an error documented as one of the statuses `S`
/// lists (see [`set`]).
pub type ApiResult<T, S> = Result<T, Errors<S>>;

/// The error statuses one operation can answer.
pub trait ErrorSet: 'static {
    const STATUSES: &'static [u16];
}

/// An [`ApiError`] as one operation documents it: at run time every error is answered as
/// usual; `S` only narrows the operation's OpenAPI responses to those it can really give, so
/// the document neither hides a status (schemathesis's status_code_conformance holds the
/// server to it) nor promises ones that cannot happen (a 409 from a GET, a 405 from a route).
pub struct Errors<S>(ApiError, PhantomData<fn() -> S>);

impl<S: ErrorSet> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        let mut meta = ApiError::meta();
        // an operation that takes a bearer (401) may meet a service account's rate limit
        let limited = S::STATUSES.contains(&401);
        meta.responses.retain(|r| {
            r.status
                .is_some_and(|status| S::STATUSES.contains(&status) || (limited && status == 429))
        });
        meta
    }

    fn register(registry: &mut Registry) {
        ApiError::register(registry);
    }
}

impl<S> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<S> From<Errors<S>> for poem::Error {
    fn from(err: Errors<S>) -> Self {
        err.0.into()
    }
}

impl<S> From<AppError> for Errors<S> {
    fn from(err: AppError) -> Self {
        Self(err.into(), PhantomData)
    }
}

/// The error statuses of each kind of operation. Every request can be malformed (400: URL,
/// headers, body), too large (413 body, 431 headers) or meet a bug (500); the rest is what the
/// operation's own checks can answer.
pub mod set {
    use super::ErrorSet;

    macro_rules! error_set {
        ($($(#[$doc:meta])* $name:ident: [$($status:literal),*];)*) => {$(
            $(#[$doc])*
            pub struct $name;
            impl ErrorSet for $name {
                const STATUSES: &'static [u16] = &[400, 413, 431, 500, $($status),*];
            }
        )*};
    }

    error_set! {
        /// Touches nothing but the process (liveness, the published keys).
        Probe: [];
        /// Readiness: 503 names the failing checks.
        Readiness: [503];
        /// Credentials for tokens: wrong (401), an unverified email when one is required (403),
        /// malformed (422), throttled (429).
        SignIn: [401, 403, 422, 429, 503];
        /// A refresh token for tokens.
        Refresh: [401, 422, 503];
        /// Another dealership of the caller's: none there (404), malformed (422).
        Switch: [401, 403, 404, 422, 503];
        /// The caller's own things, no input beyond the token.
        Caller: [401, 403, 503];
        /// A change to the caller's own profile: the phone may be taken (409), and trying taken
        /// numbers again and again is throttled (429).
        CallerUpdate: [401, 403, 409, 422, 429, 503];
        /// A change that needs the caller's current password, checked and throttled.
        PasswordChange: [401, 403, 422, 429, 503];
        /// Closing the caller's account: the current password is checked and throttled; the
        /// last active principal or admin is refused (409).
        AccountClosing: [401, 403, 409, 422, 429, 503];
        /// A list: a bad `limit` or `offset` is 422.
        Listing: [401, 403, 422, 503];
        /// A list of something's parts by id: as [`Listing`], and that thing may not exist.
        PartListing: [401, 403, 404, 422, 503];
        /// One thing by id, or an action on it that takes no input.
        Lookup: [401, 403, 404, 503];
        /// A user: the dealership may not exist (404), the email or phone may be taken (409),
        /// and a caller told so too often is throttled (429).
        CreateUser: [401, 403, 404, 409, 422, 429, 503];
        /// A dealership: the name may be taken.
        CreateDealership: [401, 403, 409, 422, 503];
        /// An edit by id: the new email, phone or name may be taken.
        Edit: [401, 403, 404, 409, 422, 503];
        /// A user's edit: as [`Edit`], and a caller told too often that an email or phone is
        /// taken is throttled (429).
        EditUser: [401, 403, 404, 409, 422, 429, 503];
        /// An action by id that some targets refuse (not on yourself: 422).
        Removal: [401, 403, 404, 422, 503];
        /// A registration (an OpenID client): invalid fields, or a dealership or group named
        /// that does not exist (422); nothing in it must be unique.
        Register: [401, 403, 422, 503];
        /// A registration changed by id: as [`Register`], and it may not exist (404).
        Reconfigure: [401, 403, 404, 422, 503];
        /// An invitation: the dealership may not exist (404); past the hour's quota of the
        /// dealership or the sender, 429.
        CreateInvitation: [401, 403, 404, 422, 429, 503];
        /// An invitation sent again: as [`Transition`], and the same quota (429).
        Resend: [401, 403, 404, 409, 429, 503];
        /// A custom role: the dealership may not exist (404), the name may be taken (409).
        CreateRole: [401, 403, 404, 409, 422, 503];
        /// An action by id that the target's state may refuse (409).
        Transition: [401, 403, 404, 409, 503];
        /// A service account: a dealership or custom role not found (404, 422), invalid
        /// fields (422).
        CreateServiceAccount: [401, 403, 404, 422, 503];
        /// A service account's new key: as [`Transition`], and a bad lifetime (422).
        RotateKey: [401, 403, 404, 409, 422, 503];
        /// A signup: the token invalid or the input malformed (422), the address or phone taken
        /// (409); every attempt throttled per address and client IP (429); without an
        /// invitation, refused while open signup is off (403).
        Signup: [403, 409, 422, 429, 503];
        /// An invitation accepted with an account's password: wrong (401), malformed or used
        /// (422), a member already (409), throttled (429).
        Join: [401, 409, 422, 429, 503];
        /// Leaving a dealership: none there (404), the only one (422), its last principal
        /// (409).
        Leaving: [401, 403, 404, 409, 422, 503];
        /// The policy reload: broken files are 422.
        Reload: [401, 403, 422, 503];
        /// A mailed link asked for: a malformed address (422) or too many requests (429).
        MailRequest: [422, 429, 503];
        /// A mailed token used: invalid, used or expired (422 on `token`), or a weak password.
        TokenUse: [422, 503];
        /// An email change confirmed: the token as for [`TokenUse`], or the address taken by
        /// now (409).
        EmailConfirm: [409, 422, 503];
        /// A mailed link asked for by the signed-in caller: throttled (429).
        CallerMail: [401, 403, 429, 503];
        /// A second-factor change by the caller: a wrong password or code (422, counted and
        /// throttled: 429), no such factor (404), too many factors or none yet (409).
        MfaChange: [401, 403, 404, 409, 422, 429, 503];
        /// The second step of a sign-in: a dead `mfa_token` or a wrong code (401, counted
        /// against the account's lockout: 429), malformed (422).
        MfaVerify: [401, 422, 429, 503];
    }
}

fn body(kind: &str, message: String, details: &[FieldError]) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: ErrorDetail {
            kind: kind.to_owned(),
            message,
            request_id: request_id::current(),
            details: details
                .iter()
                .map(|f| ErrorField {
                    field: f.field.clone(),
                    message: f.message.clone(),
                })
                .collect(),
        },
    })
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let message = err.to_string();
        match err {
            AppError::BadRequest(_) => Self::BadRequest(body("bad_request", message, &[])),
            AppError::BadParameter(field) => {
                Self::BadRequest(body("bad_request", message, std::slice::from_ref(&field)))
            }
            AppError::Unauthenticated | AppError::BadCredentials(_) => {
                Self::Unauthenticated(body("unauthenticated", message, &[]), "Bearer".into())
            }
            AppError::Forbidden => Self::Forbidden(body("forbidden", message, &[])),
            AppError::SignupClosed(_) | AppError::OwnSignIn | AppError::NotForMachines(_) => {
                Self::Forbidden(body("forbidden", message, &[]))
            }
            AppError::EmailNotVerified => Self::Forbidden(body("email_not_verified", message, &[])),
            AppError::MfaEnrolmentRequired => {
                Self::Forbidden(body("mfa_enrolment_required", message, &[]))
            }
            AppError::StepUpRequired => Self::Forbidden(body("step_up_required", message, &[])),
            AppError::NotFound(_) => Self::NotFound(body("not_found", message, &[])),
            AppError::MethodNotAllowed => {
                Self::MethodNotAllowed(body("method_not_allowed", message, &[]))
            }
            AppError::Conflict(_) => Self::Conflict(body("conflict", message, &[])),
            AppError::PayloadTooLarge { .. } => {
                Self::PayloadTooLarge(body("payload_too_large", message, &[]))
            }
            AppError::HeadersTooLarge(_) => {
                Self::HeadersTooLarge(body("headers_too_large", message, &[]))
            }
            AppError::Validation(fields) => {
                Self::Validation(body("validation_error", message, &fields))
            }
            AppError::RateLimited { retry_after_secs } => {
                Self::RateLimited(body("rate_limited", message, &[]), retry_after_secs)
            }
            AppError::Unavailable(reason) => {
                tracing::warn!(%reason, "answering 503");
                Self::Unavailable(body("unavailable", "service unavailable".into(), &[]), None)
            }
            AppError::Overloaded { retry_after_secs } => {
                Self::Unavailable(body("unavailable", message, &[]), Some(retry_after_secs))
            }
            AppError::NotReady(checks) => {
                Self::Unavailable(body("unavailable", message, &checks), None)
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Self::Internal(body("internal", message, &[]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented<S: ErrorSet>() -> Vec<u16> {
        Errors::<S>::meta()
            .responses
            .iter()
            .filter_map(|r| r.status)
            .collect()
    }

    #[test]
    fn every_status_of_an_error_set_is_an_api_error() {
        // a status no ApiError variant has would silently vanish from the document
        macro_rules! check {
            ($($set:ident),*) => {$(
                let mut listed = set::$set::STATUSES.to_vec();
                // a bearer's operation also lists a service account's rate limit
                if listed.contains(&401) && !listed.contains(&429) {
                    listed.push(429);
                }
                listed.sort_unstable();
                let mut found = documented::<set::$set>();
                found.sort_unstable();
                assert_eq!(found, listed, stringify!($set));
            )*};
        }
        check!(
            Probe,
            Readiness,
            SignIn,
            Refresh,
            Caller,
            CallerUpdate,
            PasswordChange,
            Listing,
            Lookup,
            CreateUser,
            CreateDealership,
            Edit,
            Removal,
            Register,
            Reconfigure,
            Reload,
            Signup,
            MailRequest,
            TokenUse,
            CallerMail
        );
    }
}
