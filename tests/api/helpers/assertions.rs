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

/// A login lockout's answer: 429 `rate_limited` with a `Retry-After` within the default lock
/// (900 s). Returns the seconds it says.
pub async fn assert_locked(resp: reqwest::Response) -> u64 {
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("Retry-After is text")
        .parse()
        .expect("Retry-After is seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(error_of(resp, 429).await["type"], "rate_limited");
    retry_after
}
