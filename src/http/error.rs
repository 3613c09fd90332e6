//! The one mapping from failures to the API's JSON error body (api.md, "Errors").

use std::marker::PhantomData;

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use poem_openapi::{
    ApiResponse, Object,
    payload::Json,
    registry::{MetaResponses, Registry},
};

use super::{expected, request_id};
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
        meta.responses
            .retain(|r| r.status.is_some_and(|status| S::STATUSES.contains(&status)));
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
        /// An invitation: the dealership may not exist (404); past the hour's quota of the
        /// dealership or the sender, 429.
        CreateInvitation: [401, 403, 404, 422, 429, 503];
        /// An invitation sent again: as [`Transition`], and the same quota (429).
        Resend: [401, 403, 404, 409, 429, 503];
        /// A custom role: the dealership may not exist (404), the name may be taken (409).
        CreateRole: [401, 403, 404, 409, 422, 503];
        /// An action by id that the target's state may refuse (409).
        Transition: [401, 403, 404, 409, 503];
        /// A signup: the token invalid or the input malformed (422), the address or phone taken
        /// (409); every attempt throttled per address and client IP (429); without an
        /// invitation, refused while open signup is off (403).
        Signup: [403, 409, 422, 429, 503];
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
            AppError::SignupClosed(_) => Self::Forbidden(body("forbidden", message, &[])),
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

/// The request poem refused, as far as its refusal needs it.
pub struct Refused<'a> {
    /// The route template (`/api/v1/users/{id}`), as the OpenAPI document names the path.
    pub route: &'a str,
    pub method: &'a str,
    /// The request body, to tell a malformed document (400) from a well-formed one with wrong
    /// fields (422).
    pub body: &'a [u8],
}

/// Errors raised by poem itself (no route, wrong method, unparsable body or parameter, wrong
/// content type) in the same terms as ours, so they get the same body; fields and parameters
/// are named, and what they must be said, from the OpenAPI document ([`expected`]), never in
/// poem-openapi's type names.
pub fn from_poem(err: &poem::Error, body_limit: usize, request: &Refused) -> AppError {
    if let Some(payload) = err.downcast_ref::<ParseRequestPayloadError>() {
        return payload_error(&payload.reason, request);
    }
    if let Some(path) = err.downcast_ref::<ParsePathError>() {
        // poem-openapi numbers path parameters (`param0`); the template has their names
        let name = path
            .name
            .strip_prefix("param")
            .and_then(|index| index.parse().ok())
            .and_then(|index| expected::path_parameter(request.route, index))
            .unwrap_or(path.name);
        return parameter_error(name, request);
    }
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        return parameter_error(param.name, request);
    }
    if err.is::<ContentTypeError>() {
        let accepted = expected::content_types(request.route, request.method);
        return AppError::BadRequest(match accepted.as_slice() {
            [] => "this operation takes no request body".to_owned(),
            kinds => format!("expected content type {}", kinds.join(" or ")),
        });
    }
    match err.status() {
        StatusCode::NOT_FOUND => AppError::NotFound("route"),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::UNAUTHORIZED => AppError::Unauthenticated,
        StatusCode::FORBIDDEN => AppError::Forbidden,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge { limit: body_limit },
        StatusCode::SERVICE_UNAVAILABLE => AppError::Unavailable(err.to_string()),
        status if status.is_client_error() => AppError::BadRequest(err.to_string()),
        _ => AppError::Internal(anyhow::anyhow!("{err}")),
    }
}

fn parameter_error(name: &str, request: &Refused) -> AppError {
    let words = expected::parameter_words(request.route, request.method, name);
    AppError::BadParameter(FieldError::new(name, words))
}

/// `reason` is serde's message for a form or an unparsable JSON document, or poem-openapi's
/// (type names, no field) for a JSON document of the wrong shape.
fn payload_error(reason: &str, request: &Refused) -> AppError {
    // serde names a missing field of a form as: missing field `name`
    if let Some(field) = reason
        .split_once("missing field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field)
    {
        return AppError::field(field, "is required");
    }
    if request.body.trim_ascii().is_empty() {
        return AppError::BadRequest("the request body is empty: expected a JSON object".into());
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(request.body) else {
        return AppError::BadRequest(format!("malformed request body: {reason}"));
    };
    if !body.is_object() {
        return AppError::BadRequest("the request body must be a JSON object".into());
    }
    let wrong = expected::body_mismatches(request.route, request.method, &body);
    if wrong.is_empty() {
        // poem-openapi refused what the document allows: a gap between the two, to be found
        // the reason may quote the request's values: the route and method say where to look
        tracing::warn!(
            route = request.route,
            method = request.method,
            "a refused request body fits the OpenAPI document"
        );
        return AppError::field("body", "does not fit this operation's request schema");
    }
    AppError::Validation(wrong)
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
            Reload,
            Signup,
            MailRequest,
            TokenUse,
            CallerMail
        );
    }

    fn login(body: &[u8]) -> Refused<'_> {
        Refused {
            route: "/api/v1/auth/login",
            method: "POST",
            body,
        }
    }

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(fields) => {
                fields.into_iter().map(|f| (f.field, f.message)).collect()
            }
            other => panic!("not a 422: {other:?}"),
        }
    }

    #[test]
    fn payload_errors_split_into_malformed_and_invalid() {
        let form = Refused {
            route: "/api/v1/auth/token",
            method: "POST",
            body: b"grant_type=password",
        };
        let missing = payload_error("missing field `username`", &form);
        assert_eq!(fields(missing), [("username".into(), "is required".into())]);
        let wrong_type = payload_error(
            r#"Expected input type "optional_string", found 42. (occurred while parsing "LoginRequest")"#,
            &login(br#"{"email":42,"password":"x"}"#),
        );
        assert_eq!(
            fields(wrong_type),
            [("email".into(), "must be a string".into())]
        );
        let malformed = payload_error("key must be a string at line 1 column 2", &login(b"{bad"));
        assert_eq!(
            malformed.to_string(),
            "malformed request body: key must be a string at line 1 column 2"
        );
        for (body, said) in [
            (&b"[]"[..], "the request body must be a JSON object"),
            (b" ", "the request body is empty: expected a JSON object"),
        ] {
            let err = payload_error(
                r#"Expected input type "LoginRequest", found []."#,
                &login(body),
            );
            assert!(
                matches!(&err, AppError::BadRequest(m) if m == said),
                "{err:?}"
            );
        }
    }

    #[test]
    fn no_answer_names_a_framework_type() {
        let refusals = [
            payload_error(
                r#"Expected input type "string", found null. (occurred while parsing "LoginRequest")"#,
                &login(br#"{"email":"a@b.co","password":null}"#),
            ),
            payload_error(
                r#"Expected input type "LoginRequest", found 1."#,
                &login(b"1"),
            ),
            // poem-openapi refused what the document allows: still no type names
            payload_error(
                r#"failed to parse "LoginRequest": something"#,
                &login(br#"{"email":"a@b.co","password":"x"}"#),
            ),
        ];
        for err in refusals {
            let said = format!("{err}");
            for framework in [
                "optional_string",
                "LoginRequest",
                "Expected input type",
                "\"string\"",
            ] {
                assert!(!said.contains(framework), "{said}");
            }
        }
    }

    #[test]
    fn parameters_are_named_as_the_document_names_them() {
        let users = |route| Refused {
            route,
            method: "GET",
            body: b"",
        };
        let path: poem::Error = ParsePathError {
            name: "param0",
            reason: r#"failed to parse "string(uuid)": invalid length"#.into(),
        }
        .into();
        let err = from_poem(&path, 1024, &users("/api/v1/users/{id}"));
        assert_eq!(err.to_string(), "id: must be a UUID");
        assert!(matches!(err, AppError::BadParameter(f) if f.field == "id"));
        let query: poem::Error = ParseParamError {
            name: "is_active",
            reason: r#"failed to parse "boolean": invalid"#.into(),
        }
        .into();
        let err = from_poem(&query, 1024, &users("/api/v1/users"));
        assert_eq!(err.to_string(), "is_active: must be true or false");
    }

    #[test]
    fn a_wrong_content_type_names_the_accepted_one() {
        let wrong: poem::Error = ContentTypeError::NotSupported {
            content_type: "text/plain".into(),
        }
        .into();
        let err = from_poem(&wrong, 1024, &login(b"x"));
        assert_eq!(err.to_string(), "expected content type application/json");
        let none: poem::Error = ContentTypeError::ExpectContentType.into();
        let form = Refused {
            route: "/api/v1/auth/token",
            method: "POST",
            body: b"{}",
        };
        let err = from_poem(&none, 1024, &form);
        assert!(matches!(&err, AppError::BadRequest(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "expected content type application/x-www-form-urlencoded"
        );
    }
}
