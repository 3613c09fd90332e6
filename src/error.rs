//! AppError: the one list of failure kinds, in domain terms. `http::error` is the one place that
//! turns them into the JSON error body of the API.

use sea_orm::DbErr;

/// One invalid input field, as listed in the error body's `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{}", validation_message(.0))]
    Validation(Vec<FieldError>),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A readiness check failed; each entry names the check.
    #[error("not ready: {}", .0.iter().map(|c| c.field.as_str()).collect::<Vec<_>>().join(", "))]
    NotReady(Vec<FieldError>),
    /// A bug or an unexpected failure: logged with its cause chain, answered generically.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn validation_message(fields: &[FieldError]) -> String {
    match fields {
        [] => "invalid input".to_owned(),
        [one, ..] => format!("{}: {}", one.field, one.message),
    }
}

impl AppError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

/// A unique-key violation is a 409 naming `what`; anything else maps as usual.
pub fn conflict_if_duplicate(err: DbErr, what: &str) -> AppError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict(format!("{what} already exists"))
        }
        _ => err.into(),
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err {
            // the pool could not hand out a connection in time, or the server is gone:
            // fail fast with 503 rather than hang or call it a bug
            DbErr::ConnectionAcquire(e) => Self::Unavailable(format!("database: {e}")),
            DbErr::Conn(e) => Self::Unavailable(format!("database: {e}")),
            other => {
                crate::metrics::metrics().db_errors.inc();
                Self::Internal(other.into())
            }
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_message_names_the_first_field() {
        let err = AppError::Validation(vec![
            FieldError::new("email", "not a valid address"),
            FieldError::new("password", "too short"),
        ]);
        assert_eq!(err.to_string(), "email: not a valid address");
    }
}
