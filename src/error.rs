//! AppError: the one list of failure kinds, in domain terms. `http::error` is the one place that
//! turns them into the JSON error body of the API.

use sea_orm::{DbErr, RuntimeErr, sqlx};

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
    /// A path or query parameter that cannot be read as what it must be (`id: must be a UUID`):
    /// a malformed URL, so 400, with the parameter named as a field is.
    #[error("{}: {}", .0.field, .0.message)]
    BadParameter(FieldError),
    #[error("authentication required")]
    Unauthenticated,
    /// Sign-in credentials that did not match: the one answer for an unknown name, a wrong
    /// password or code and an account that may not sign in, so none is told from another.
    /// Says what was wrong in the client's words: `wrong {0}` ("email or password", "code").
    #[error("wrong {0}")]
    BadCredentials(&'static str),
    #[error("not allowed")]
    Forbidden,
    /// Someone else's credentials, of a person who is also a member where the caller does not
    /// reach or outrank them (which dealership is never said).
    #[error("this person manages their own sign-in")]
    OwnSignIn,
    /// Signing up is refused whoever asks: no invitation while open signup is off, or the
    /// configured dealership takes no members.
    #[error("{0}")]
    SignupClosed(&'static str),
    /// `auth.require_verified_email` is set and the address is not verified yet.
    #[error("the email address is not verified yet: follow the link mailed to it")]
    EmailNotVerified,
    /// The caller must enrol a second factor before anything but enrolling.
    #[error("a second factor is required: enrol one at /api/v1/auth/mfa/totp first")]
    MfaEnrolmentRequired,
    /// A sensitive change needs a second factor proven recently.
    #[error("confirm with your authenticator app first: POST /api/v1/auth/mfa/step-up")]
    StepUpRequired,
    /// What only a person may do, asked by a service account (`{0}` says what).
    #[error("a service account cannot {0}")]
    NotForMachines(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    HeadersTooLarge(String),
    #[error("{}", validation_message(.0))]
    Validation(Vec<FieldError>),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Too much work queued (password hashing): refused at once rather than queued unboundedly.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
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
    /// A 422 naming one field, for a rule broken by a well-formed value (a business rule:
    /// parse errors get their field names in `http::fields`).
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(name, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

/// A unique-key violation is a 409 naming `what`; anything else maps as usual.
pub fn conflict_if_duplicate(err: DbErr, what: &str) -> AppError {
    conflict_naming(err, |_| what)
}

/// A unique-key violation is a 409 naming what `what` says the violated constraint (its name,
/// if the server gave one) holds unique, for a table with more than one unique key.
pub fn conflict_naming<'a>(err: DbErr, what: impl FnOnce(Option<&str>) -> &'a str) -> AppError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
            "{} already exists",
            what(violated_constraint(&err))
        )),
        _ => err.into(),
    }
}

fn violated_constraint(err: &DbErr) -> Option<&str> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Database(db) => db.constraint(),
                _ => None,
            }
        }
        _ => None,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_connection_failure(&err) {
            // the database is unreachable, not wrong: fail fast with 503 rather than call it a bug
            return Self::Unavailable(format!("database: {err}"));
        }
        crate::metrics::metrics().db_errors.inc();
        Self::Internal(err.into())
    }
}

/// The database could not be reached or the connection broke: no pooled connection in time, a
/// connect that failed, or a statement, `BEGIN` or `COMMIT` whose connection died under it.
/// Errors the server answered (SQL errors, constraint violations, bad decoding) are not.
pub fn is_connection_failure(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            connection_lost(e)
        }
        _ => false,
    }
}

fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        // the connection is out of step with the server (cut mid-message): unusable, not a bug
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| server_going_away(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a server that ended or refused the session, not of a bad statement:
/// class 08 (connection exception), shutdown or termination of the backend (57P01–57P03),
/// and too many connections (53300).
pub(crate) fn server_going_away(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        // a database error that travelled as anyhow is classified like any other
        match err.downcast::<DbErr>() {
            Ok(db) => db.into(),
            Err(err) => Self::Internal(err),
        }
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

    fn exec_err(err: sqlx::Error) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(err)))
    }

    #[test]
    fn a_broken_connection_is_unavailable_and_a_bad_statement_is_a_bug() {
        let cut = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        for lost in [
            exec_err(sqlx::Error::Io(cut)),
            exec_err(sqlx::Error::PoolTimedOut),
            exec_err(sqlx::Error::Protocol("unexpected message".into())),
            DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
                sqlx::Error::PoolClosed,
            ))),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
        ] {
            assert!(
                matches!(AppError::from(lost.clone()), AppError::Unavailable(_)),
                "{lost}"
            );
        }
        for bug in [
            exec_err(sqlx::Error::ColumnNotFound("id".into())),
            exec_err(sqlx::Error::RowNotFound),
            DbErr::Exec(RuntimeErr::Internal("syntax error".into())),
            DbErr::RecordNotFound("user".into()),
        ] {
            assert!(
                matches!(AppError::from(bug.clone()), AppError::Internal(_)),
                "{bug}"
            );
        }
        assert!(server_going_away("08006") && server_going_away("57P01"));
        assert!(!server_going_away("42601") && !server_going_away("23505"));
        let wrapped =
            anyhow::Error::new(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(matches!(AppError::from(wrapped), AppError::Unavailable(_)));
    }
}
