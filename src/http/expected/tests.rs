//! The document's words for what a request must be.

use serde_json::json;

use super::*;

fn document() -> Value {
    json!({"components": {"schemas": {
        "Signup": {"type": "object", "required": ["email", "address"], "properties": {
            "email": {"type": "string", "nullable": true},
            "age": {"type": "integer", "format": "uint32"},
            "admin": {"type": "boolean"},
            "score": {"type": "number"},
            "address": {"$ref": "#/components/schemas/Address"},
            "roles": {"type": "array", "items": {"$ref": "#/components/schemas/Role"}},
            "dealership_id": {"type": "string", "format": "uuid", "nullable": true},
            "since": {"type": "string", "format": "date-time"},
        }},
        "Address": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string"},
        }},
        "Role": {"type": "string", "enum": ["manager", "agent"]},
    }}})
}

fn found(body: Value) -> Vec<(String, String)> {
    let document = document();
    let schema = json!({"$ref": "#/components/schemas/Signup"});
    mismatches(&document, &body, &schema)
        .into_iter()
        .map(|f| (f.field, f.message))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect()
}

#[test]
fn a_body_that_fits_has_no_mismatches() {
    let body = json!({"email": null, "address": {"city": "Springfield"}, "age": 3,
                      "roles": ["agent"], "since": "2026-01-31T09:00:00Z",
                      "dealership_id": "0193a5f0-0000-7000-8000-000000000001",
                      "unknown": "ignored"});
    assert_eq!(found(body), []);
}

#[test]
fn wrong_types_are_named_by_json_name_and_said_in_words() {
    let body = json!({"email": 42, "address": {"city": "x"}, "age": "3", "admin": "yes",
                      "score": "high", "dealership_id": "nope", "since": "yesterday"});
    assert_eq!(
        found(body),
        pairs(&[
            ("admin", "must be true or false"),
            ("age", "must be an integer from 0 to 4294967295"),
            ("dealership_id", "must be a UUID"),
            ("email", "must be a string"),
            ("score", "must be a number"),
            ("since", "must be a date and time (RFC 3339)"),
        ])
    );
}

#[test]
fn nested_fields_and_array_items_have_dotted_names() {
    let body = json!({"email": "a@b.co", "address": {"city": 7}, "roles": ["agent", "boss"]});
    assert_eq!(
        found(body),
        pairs(&[
            ("address.city", "must be a string"),
            ("roles.1", "must be one of: manager, agent"),
        ])
    );
    let body = json!({"email": "a@b.co", "address": {}, "roles": "agent"});
    assert_eq!(
        found(body),
        pairs(&[
            ("address.city", "is required"),
            ("roles", "must be an array"),
        ])
    );
}

#[test]
fn missing_fields_are_required_and_null_is_only_for_nullable_ones() {
    assert_eq!(
        found(json!({"address": null})),
        pairs(&[("address", "must be an object"), ("email", "is required")])
    );
    assert_eq!(
        found(json!({"email": null, "address": {"city": null}})),
        pairs(&[("address.city", "must be a string")])
    );
}

#[test]
fn a_body_of_the_wrong_kind_is_named_as_the_body() {
    assert_eq!(found(json!([])), pairs(&[("", "must be an object")]));
}

#[test]
fn integers_out_of_their_format_do_not_fit() {
    assert!(integer_fits(&json!(4_294_967_295u64), "uint32"));
    assert!(!integer_fits(&json!(4_294_967_296u64), "uint32"));
    assert!(!integer_fits(&json!(-1), "uint64"));
    assert!(!integer_fits(&json!(1.5), "int64"));
    assert!(integer_fits(&json!(u64::MAX), "uint64"));
    assert_eq!(integer_words("int64"), "must be an integer");
    assert_eq!(integer_words("uint64"), "must be an integer, 0 or more");
}

#[test]
fn every_openapi_type_has_words() {
    let document = document();
    for (schema, said) in [
        (json!({"type": "string"}), "must be a string"),
        (
            json!({"type": "string", "format": "uuid"}),
            "must be a UUID",
        ),
        (
            json!({"type": "string", "format": "email"}),
            "must be an email address",
        ),
        (
            json!({"type": "string", "format": "date"}),
            "must be a date (YYYY-MM-DD)",
        ),
        (
            json!({"type": "integer", "format": "int32"}),
            "must be an integer from -2147483648 to 2147483647",
        ),
        (
            json!({"type": "number", "format": "double"}),
            "must be a number",
        ),
        (json!({"type": "boolean"}), "must be true or false"),
        (json!({"type": "object"}), "must be an object"),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            "must be an array",
        ),
        (
            json!({"$ref": "#/components/schemas/Role"}),
            "must be one of: manager, agent",
        ),
        (
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
            "must be a string or an integer",
        ),
    ] {
        assert_eq!(words(&document, &schema), said, "{schema}");
    }
}

#[test]
fn path_parameters_are_numbered_in_the_order_of_the_template() {
    assert_eq!(path_parameter("/api/v1/users/{id}", 0), Some("id"));
    assert_eq!(
        path_parameter("/api/v1/roles/{dealership}/members/{id}", 1),
        Some("id")
    );
    assert_eq!(path_parameter("/api/v1/users", 0), None);
}

#[test]
fn the_api_document_names_parameters_and_content_types() {
    assert_eq!(
        parameter_words("/api/v1/users/{id}", "GET", "id"),
        "must be a UUID"
    );
    assert_eq!(
        parameter_words("/api/v1/users", "get", "limit"),
        "must be an integer"
    );
    assert_eq!(
        parameter_words("/api/v1/audit-events", "get", "since"),
        "must be a date and time (RFC 3339)"
    );
    assert_eq!(
        content_types("/api/v1/auth/login", "POST"),
        ["application/json"]
    );
    assert_eq!(
        content_types("/api/v1/auth/token", "POST"),
        ["application/x-www-form-urlencoded"]
    );
    let wrong = body_mismatches(
        "/api/v1/auth/login",
        "POST",
        &serde_json::json!({"email": 42}),
    );
    assert_eq!(
        wrong,
        [
            FieldError::new("email", "must be a string"),
            FieldError::new("password", "is required"),
        ]
    );
}
