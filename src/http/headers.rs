//! Response headers every answer carries: no MIME sniffing, no framing, no referrer; `no-store`
//! on the API (identity data must not sit in shared caches); HSTS when configured. The
//! console's pages load nothing from another origin (`default-src 'self'`, no inline script
//! or style) and send their referrer to their own origin only: under `no-referrer` Chromium
//! sends `Origin: null` on same-origin form posts, which the CSRF check would refuse.

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderName, HeaderValue, header},
};

use crate::config::HttpSettings;

const FIXED: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    // framing only: scripts and styles of the Swagger UI page are left alone
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
];

/// The console's pages, over [`FIXED`].
const CONSOLE: [(HeaderName, &str); 2] = [
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; \
         object-src 'none'",
    ),
];

pub struct SecurityHeaders {
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(http: &HttpSettings) -> Self {
        let hsts = http.hsts_max_age_secs.and_then(|secs| {
            HeaderValue::from_str(&format!("max-age={secs}; includeSubDomains")).ok()
        });
        Self { hsts }
    }
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner,
            hsts: self.hsts.clone(),
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: Option<HeaderValue>,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let api = req.uri().path().starts_with("/api/");
        let console = req.uri().path().starts_with("/console");
        let mut resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        let headers = resp.headers_mut();
        for (name, value) in FIXED {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if api {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if console {
            for (name, value) in CONSOLE {
                headers.insert(name, HeaderValue::from_static(value));
            }
            if !headers.contains_key(header::CACHE_CONTROL) {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
        }
        if let Some(hsts) = &self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        Ok(resp)
    }
}
