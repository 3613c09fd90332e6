//! The request id: taken from a well-formed `X-Request-Id`, otherwise a new UUIDv7; carried in a
//! task-local so error bodies and log lines of the request can name it.

use poem::Request;
use uuid::Uuid;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id the client sent, if it is safe to echo and log; a new one otherwise.
pub fn from_request(req: &Request) -> String {
    req.header(HEADER)
        .filter(|id| is_well_formed(id))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string())
}

fn is_well_formed(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The current request's id, or `-` outside a request.
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_echoed() {
        assert!(is_well_formed("01J9ZQ-abc_1.2:3"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&"a".repeat(65)));
        assert!(!is_well_formed("id\nInjected: header"));
        assert!(!is_well_formed("<script>"));
    }
}
