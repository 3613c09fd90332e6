//! What poem itself refuses before a handler runs (no route, wrong method, an unparsable body or
//! parameter, a wrong content type), in the API's terms: the same `AppError`s, so the same body
//! (`super::error`), with fields and parameters named as the OpenAPI document names them.

use poem::http::StatusCode;
use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};

use super::expected;
use crate::error::{AppError, FieldError};

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
