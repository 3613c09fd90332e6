//! Assertions on answers: the JSON error body of api.md.

/// The JSON error body's `error` object, asserting the shape of api.md on the way.
pub async fn error_of(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let header_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Request-Id on every response");
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    let error = body["error"].clone();
    assert!(error["type"].is_string(), "error.type in {body}");
    assert!(error["message"].is_string(), "error.message in {body}");
    assert_eq!(
        error["request_id"],
        header_id.as_str(),
        "request_id matches the header"
    );
    error
}
