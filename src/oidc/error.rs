//! Refusals in the shapes relying-party libraries parse: RFC 6749 §5.2 for the token,
//! revocation and introspection endpoints (`{"error", "error_description"}`), RFC 6750 §3 for
//! userinfo (`WWW-Authenticate: Bearer error=…`), and §4.1.2.1 for the authorization endpoint
//! (back to the client's redirect URI, or a page when that URI cannot be trusted).

use poem::{
    IntoResponse, Response,
    http::{HeaderValue, StatusCode, header},
};

use crate::error::AppError;

/// Why an authorization request stops.
#[derive(Debug)]
pub enum Refusal {
    /// The client or its redirect URI is not known good: shown here, never redirected.
    Page(&'static str),
    /// Back to the client with `error` (and `state`, `iss`).
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// `uri` with `pairs` added to its query (a registered URI may carry a query of its own).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.into()
        }
        Err(_) => uri.to_owned(),
    }
}

/// An error of the token, revocation, introspection or userinfo endpoint.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    /// The client could not be authenticated (RFC 6749 §5.2: 401 with a challenge).
    pub fn invalid_client() -> Self {
        Self::new(401, "invalid_client", "client authentication failed")
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }

    /// A bearer token that is missing, expired or revoked (RFC 6750 §3.1).
    pub fn invalid_token() -> Self {
        Self::new(401, "invalid_token", "the access token is not valid")
    }
}

impl From<AppError> for OAuthError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthenticated => Self::invalid_grant("the grant is not valid"),
            AppError::RateLimited { .. } => {
                Self::new(429, "slow_down", "too many attempts: wait and try again")
            }
            AppError::Validation(fields) => Self::invalid_request(
                fields
                    .first()
                    .map(|f| format!("{} {}", f.field, f.message))
                    .unwrap_or_else(|| "the request is not valid".into()),
            ),
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "an OAuth endpoint failed");
                Self::new(500, "server_error", "the server could not answer")
            }
            AppError::Unavailable(_) | AppError::Overloaded { .. } => {
                Self::new(503, "temporarily_unavailable", "try again in a moment")
            }
            other => Self::invalid_request(other.to_string()),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "error": self.error, "error_description": self.description });
        let mut resp = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .body(body.to_string());
        let challenge = match (self.status, self.error) {
            (StatusCode::UNAUTHORIZED, "invalid_token") => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.description
            )),
            (StatusCode::UNAUTHORIZED, _) => Some("Basic realm=\"dealergate\"".to_owned()),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        resp
    }
}

impl From<OAuthError> for poem::Error {
    fn from(err: OAuthError) -> Self {
        poem::Error::from_response(err.into_response())
    }
}
