//! What a form shows when its action fails: the API's own field errors beside their fields,
//! or the API's message above the form. Failures a form cannot show (not found, not allowed,
//! signed out) go on to [`Failure`](super::page::Failure) and become a page or a redirect.

use poem::http::StatusCode;

use crate::error::{AppError, FieldError};

#[derive(Default)]
pub struct Errors {
    fields: Vec<FieldError>,
    general: Option<String>,
    status: Option<StatusCode>,
}

impl Errors {
    pub fn none() -> Self {
        Self::default()
    }

    /// The errors of `err` a form shows, with the status the API would answer (422, 401, 409,
    /// 429); any other failure is handed back. `renames` maps the API's field names to the
    /// form's (`email` → `login`).
    pub fn shown(err: AppError, renames: &[(&str, &str)]) -> Result<Self, AppError> {
        let status = |code| Some(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST));
        let general = |err: &AppError, code| Self {
            fields: Vec::new(),
            general: Some(sentence(&err.to_string())),
            status: status(code),
        };
        Ok(match err {
            AppError::Validation(fields) => Self {
                fields: fields
                    .into_iter()
                    .map(|f| {
                        let field = renames
                            .iter()
                            .find(|(api, _)| *api == f.field)
                            .map_or(f.field, |(_, form)| (*form).to_owned());
                        FieldError::new(field, sentence(&f.message))
                    })
                    .collect(),
                general: None,
                status: status(422),
            },
            AppError::BadCredentials(_) => general(&err, 401),
            AppError::Conflict(_) | AppError::OwnSignIn => general(&err, 409),
            AppError::RateLimited { .. } | AppError::Overloaded { .. } => general(&err, 429),
            AppError::EmailNotVerified | AppError::SignupClosed(_) => general(&err, 403),
            other => return Err(other),
        })
    }

    pub fn of(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }

    /// The message above the form: a general one, or a field error no field of the form
    /// shows (named, so it is not lost).
    pub fn general(&self) -> Option<String> {
        self.general.clone()
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

/// `wrong email or password` → `Wrong email or password.`
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '?', '!']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_keep_the_apis_words_under_the_forms_names() {
        let err = AppError::Validation(vec![FieldError::new("email", "is not an email address")]);
        let errors = Errors::shown(err, &[("email", "login")]).unwrap();
        assert_eq!(errors.of("login"), Some("Is not an email address."));
        assert_eq!(errors.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let wrong = Errors::shown(AppError::BadCredentials("email or password"), &[]).unwrap();
        assert_eq!(wrong.general().as_deref(), Some("Wrong email or password."));
        assert!(Errors::shown(AppError::NotFound("user"), &[]).is_err());
    }
}
