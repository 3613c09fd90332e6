//! Around every request: the request id, the body limit, one error body for every failure
//! (poem's own included), and one access-log line.

use std::time::{Duration, Instant};

use bytes::Bytes;
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    error::ReadBodyError,
    http::{
        HeaderValue,
        header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE},
    },
};
use tracing::Instrument;

use super::{
    error::ApiError,
    refused::{Refused, from_poem},
    request_id, routes,
};
use crate::{config::HttpSettings, error::AppError};

pub struct RequestContext {
    body_limit: usize,
    body_timeout: Duration,
}

impl RequestContext {
    pub fn new(http: &HttpSettings) -> Self {
        Self {
            body_limit: http.body_limit_bytes,
            body_timeout: http.body_timeout(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RequestContext {
    type Output = RequestContextEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestContextEndpoint {
            inner,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
        }
    }
}

pub struct RequestContextEndpoint<E> {
    inner: E,
    body_limit: usize,
    body_timeout: Duration,
}

impl<E: Endpoint> Endpoint for RequestContextEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let id = request_id::from_request(&req);
        let route = routes::template_of(req.uri().path());
        let method = req.method().to_string();
        // user and tenant are recorded by the bearer check, once known
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %method,
            route = %route,
            user_id = tracing::field::Empty,
            dealership_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let handled = async {
            if let Err(err) = check_head(&req) {
                return ApiError::from(err).into_response();
            }
            let body = match self.buffer_body(&mut req).await {
                Ok(body) => body,
                Err(err) => return ApiError::from(err).into_response(),
            };
            match self.inner.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => {
                    let refused = Refused {
                        route: &route,
                        method: &method,
                        body: &body,
                    };
                    self.error_response(err, &refused)
                }
            }
        };
        let mut resp = request_id::scope(id.clone(), handled.instrument(span.clone())).await;
        if let Ok(value) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(request_id::HEADER, value);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let code = resp.status().as_u16();
        span.in_scope(|| {
            tracing::info!(
                status = code,
                latency_ms = elapsed * 1000.0,
                "request finished"
            )
        });
        let status = code.to_string();
        let metrics = crate::metrics::metrics();
        metrics
            .http_requests
            .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
            .observe(elapsed);
        Ok(resp)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn has_nul_escape(uri: &[u8]) -> bool {
    contains(uri, b"%00")
}

/// Longest header line (name and value), header section and header count we read, so what a
/// request carries into logs, sessions and audit rows is bounded. hyper parses up to 1000
/// headers (`http::serve`) and refuses more by itself, with a bare 431.
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_HEADER_SECTION: usize = 32 * 1024;
const MAX_HEADERS: usize = 100;

/// The request line and headers, before the body is read: bounded sizes, one set of
/// credentials, and a URL that decodes to UTF-8.
fn check_head(req: &Request) -> Result<(), AppError> {
    if req.headers().len() > MAX_HEADERS {
        return Err(AppError::HeadersTooLarge(format!(
            "more than {MAX_HEADERS} headers"
        )));
    }
    let mut section = 0;
    for (name, value) in req.headers() {
        let line = name.as_str().len() + value.len() + 4; // ": " and CRLF
        if line > MAX_HEADER_LINE {
            return Err(AppError::HeadersTooLarge(format!(
                "header {name} is longer than {MAX_HEADER_LINE} bytes"
            )));
        }
        section += line;
    }
    if section > MAX_HEADER_SECTION {
        return Err(AppError::HeadersTooLarge(format!(
            "the headers are larger than {MAX_HEADER_SECTION} bytes"
        )));
    }
    // two sets of credentials: which one a proxy and this server read would differ
    for single in [AUTHORIZATION, CONTENT_TYPE] {
        if req.headers().get_all(&single).iter().count() > 1 {
            return Err(AppError::BadRequest(format!(
                "more than one {single} header"
            )));
        }
    }
    // poem decodes the URL lossily: invalid UTF-8 would become U+FFFD and be searched for
    let uri = req.uri();
    if !decodes_to_utf8(uri.path()) || !uri.query().is_none_or(decodes_to_utf8) {
        return Err(AppError::BadRequest(
            "the URL does not decode to UTF-8".into(),
        ));
    }
    Ok(())
}

fn decodes_to_utf8(s: &str) -> bool {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
        {
            decoded.push(high << 4 | low);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    std::str::from_utf8(&decoded).is_ok()
}

impl<E> RequestContextEndpoint<E> {
    /// Reads the whole body up to the limit (bodies are small JSON documents), so an oversized
    /// or endless body is refused here whether or not it declared its length.
    async fn buffer_body(&self, req: &mut Request) -> Result<Bytes, AppError> {
        let too_large = AppError::PayloadTooLarge {
            limit: self.body_limit,
        };
        let declared = req
            .header(CONTENT_LENGTH)
            .and_then(|len| len.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.body_limit as u64) {
            return Err(too_large);
        }
        let read = req.take_body().into_bytes_limit(self.body_limit);
        let bytes = tokio::time::timeout(self.body_timeout, read)
            .await
            .map_err(|_| AppError::BadRequest("request body was not received in time".into()))?
            .map_err(|err| match err {
                ReadBodyError::PayloadTooLarge => too_large,
                other => AppError::BadRequest(format!("unreadable request body: {other}")),
            })?;
        // PostgreSQL text cannot hold NUL: refuse it here rather than fail deep inside
        if bytes.contains(&0)
            || contains(&bytes, br"\u0000")
            || has_nul_escape(req.uri().to_string().as_bytes())
        {
            return Err(AppError::BadRequest(
                "NUL characters are not accepted".into(),
            ));
        }
        req.set_body(bytes.clone());
        Ok(bytes)
    }

    fn error_response(&self, err: poem::Error, refused: &Refused) -> Response {
        if err.is_from_response() {
            // already one of ours (an ApiError returned by a handler)
            return err.into_response();
        }
        ApiError::from(from_poem(&err, self.body_limit, refused)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_decode_to_utf8() {
        assert!(decodes_to_utf8("/api/v1/users"));
        assert!(decodes_to_utf8("q=%C3%BC%E4%B8%AD&x=%"));
        assert!(decodes_to_utf8("q=100%25"));
        assert!(!decodes_to_utf8("q=%FF%FE"));
        assert!(!decodes_to_utf8("q=%C3%28"));
    }
}
