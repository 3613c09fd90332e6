//! What the OpenAPI document expects of a request, in words: how a refused body, parameter or
//! content type is named and explained. poem-openapi's own messages name its types
//! (`Expected input type "optional_string" … "LoginRequest"`), not the field, and number path
//! parameters (`param0`); the document knows both the names and the types, so the refusal is
//! read from it.

use serde_json::Value;

use crate::error::FieldError;

/// The operation `method` on the route template `route` (`/api/v1/users/{id}`).
fn operation(route: &str, method: &str) -> Option<&'static Value> {
    let op = &super::document()["paths"][route][method.to_ascii_lowercase()];
    op.is_object().then_some(op)
}

/// The schema `schema` stands for: a `$ref` followed into the document's components.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// What a value of `schema` must be, as the end of a sentence about the field:
/// `must be a string`, `must be a UUID`, `must be one of: manager, agent`.
pub fn words(document: &Value, schema: &Value) -> String {
    let schema = resolve(document, schema);
    if let Some(choices) = schema["enum"].as_array() {
        let choices: Vec<String> = choices
            .iter()
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
            .collect();
        return format!("must be one of: {}", choices.join(", "));
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema[combined].as_array() {
            let parts: Vec<String> = parts
                .iter()
                .map(|part| words(document, part))
                .map(|w| w.trim_start_matches("must be ").to_owned())
                .collect();
            let joint = if combined == "allOf" { " and " } else { " or " };
            return format!("must be {}", parts.join(joint));
        }
    }
    let format = schema["format"].as_str().unwrap_or_default();
    let what = match (schema["type"].as_str().unwrap_or_default(), format) {
        ("string", "uuid") => "a UUID",
        ("string", "date-time") => "a date and time (RFC 3339)",
        ("string", "date") => "a date (YYYY-MM-DD)",
        ("string", "time") => "a time (HH:MM:SS)",
        ("string", "email") => "an email address",
        ("string", "uri" | "url") => "a URL",
        ("string", _) => "a string",
        ("integer", _) => return integer_words(format),
        ("number", _) => "a number",
        ("boolean", _) => "true or false",
        ("object", _) => "an object",
        ("array", _) => "an array",
        _ => "a valid value",
    };
    format!("must be {what}")
}

/// The values an integer format holds (none said for an integer of no known format).
fn integer_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn integer_words(format: &str) -> String {
    match (format, integer_range(format)) {
        // the 64-bit bounds say nothing a client would act on
        ("int64", _) | (_, None) => "must be an integer".to_owned(),
        ("uint64", _) => "must be an integer, 0 or more".to_owned(),
        (_, Some((min, max))) => format!("must be an integer from {min} to {max}"),
    }
}

/// A dotted field name: `address` and `city` make `address.city`; array items are numbered
/// (`permissions.0.scope`).
fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

/// Every field of `value` that `schema` does not allow, named by its dotted JSON name (the
/// body itself is `""`), depth first and by name (a JSON object's fields are kept sorted here).
pub fn mismatches(document: &Value, value: &Value, schema: &Value) -> Vec<FieldError> {
    let mut found = Vec::new();
    check(document, value, schema, "", &mut found);
    found
}

fn check(document: &Value, value: &Value, schema: &Value, at: &str, out: &mut Vec<FieldError>) {
    let schema = resolve(document, schema);
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    let wrong = |out: &mut Vec<FieldError>| out.push(FieldError::new(at, words(document, schema)));
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            check(document, value, part, at, out);
        }
        return;
    }
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(parts) = schema[alternatives].as_array() {
            if !parts
                .iter()
                .any(|part| mismatches(document, value, part).is_empty())
            {
                wrong(out);
            }
            return;
        }
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        return wrong(out);
    }
    let fits = match schema["type"].as_str() {
        Some("object") => {
            let Some(fields) = value.as_object() else {
                return wrong(out);
            };
            let required = |name: &str| {
                schema["required"]
                    .as_array()
                    .is_some_and(|names| names.iter().any(|n| n == name))
            };
            let properties = schema["properties"].as_object().into_iter().flatten();
            for (name, property) in properties {
                match fields.get(name) {
                    Some(field) => check(document, field, property, &join(at, name), out),
                    None if required(name) => {
                        out.push(FieldError::new(join(at, name), "is required"))
                    }
                    None => {}
                }
            }
            true
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return wrong(out);
            };
            for (i, item) in items.iter().enumerate() {
                check(
                    document,
                    item,
                    &schema["items"],
                    &join(at, &i.to_string()),
                    out,
                );
            }
            true
        }
        Some("string") => value
            .as_str()
            .is_some_and(|s| string_fits(s, schema["format"].as_str().unwrap_or_default())),
        Some("integer") => integer_fits(value, schema["format"].as_str().unwrap_or_default()),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        wrong(out);
    }
}

fn string_fits(s: &str, format: &str) -> bool {
    match format {
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        _ => true,
    }
}

fn integer_fits(value: &Value, format: &str) -> bool {
    let n = match (value.as_i64(), value.as_u64()) {
        (Some(n), _) => i128::from(n),
        (None, Some(n)) => i128::from(n),
        _ => return false,
    };
    integer_range(format).is_none_or(|(min, max)| (min..=max).contains(&n))
}

/// What went wrong with a JSON request body that poem-openapi refused although it is an
/// object: each field the operation's schema does not allow (none if the operation has no JSON
/// body or the body fits after all).
pub fn body_mismatches(route: &str, method: &str, body: &Value) -> Vec<FieldError> {
    let document = super::document();
    let Some(schema) = operation(route, method)
        .and_then(|op| op["requestBody"]["content"].as_object())
        .and_then(|content| content.iter().find(|(kind, _)| kind.contains("json")))
        .map(|(_, media)| &media["schema"])
    else {
        return Vec::new();
    };
    mismatches(document, body, schema)
}

/// The name of the `index`-th parameter of the route template (`{id}` of
/// `/api/v1/users/{id}`): poem numbers them `param0`, `param1`, …
pub fn path_parameter(route: &str, index: usize) -> Option<&str> {
    route
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .nth(index)
}

/// What the parameter `name` of the operation must be, in words (`must be a UUID`).
pub fn parameter_words(route: &str, method: &str, name: &str) -> String {
    let document = super::document();
    operation(route, method)
        .and_then(|op| op["parameters"].as_array())
        .and_then(|params| params.iter().find(|p| p["name"] == name))
        .map_or_else(
            || "cannot be read".to_owned(),
            |param| words(document, &param["schema"]),
        )
}

/// The content types the operation accepts, without their parameters
/// (`application/json`, not `application/json; charset=utf-8`).
pub fn content_types(route: &str, method: &str) -> Vec<String> {
    operation(route, method)
        .and_then(|op| op["requestBody"]["content"].as_object())
        .map(|content| {
            content
                .keys()
                .map(|kind| kind.split(';').next().unwrap_or(kind).trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
