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

/// The console's pages (and the OpenID provider's), over [`FIXED`].
const CONSOLE: [(HeaderName, &str); 2] = [
    (header::REFERRER_POLICY, "same-origin"),
    (header::CONTENT_SECURITY_POLICY, CONSOLE_CSP),
];
const CONSOLE_CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; \
                           base-uri 'none'; object-src 'none'";

/// Set by a page whose form's answer sends the browser on to another site (an OpenID client's
/// registered redirect URI): its `form-action` names that origin too. Never leaves the server.
const FORM_TARGET: &str = "x-dealergate-form-target";

/// Lets the page in `resp` send the browser on to `uri` after its form is answered (Chromium
/// applies `form-action` to where a form's answer redirects): `uri`'s origin, or the scheme of
/// a native app's private-use URI.
pub fn allow_form_target(resp: &mut Response, uri: &str) {
    let source = match url::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin().ascii_serialization(),
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => return,
    };
    let safe = source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.:/[]".contains(&b));
    let first = !resp.headers().contains_key(FORM_TARGET);
    if let (true, true, Ok(value)) = (safe, first, HeaderValue::from_str(&source)) {
        resp.headers_mut().insert(FORM_TARGET, value);
    }
}

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
        let console = ["/console", "/oauth2/"]
            .iter()
            .any(|p| req.uri().path().starts_with(p));
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
            if let Some(target) = headers.remove(FORM_TARGET) {
                let csp = CONSOLE_CSP.replace(
                    "form-action 'self'",
                    &format!("form-action 'self' {}", target.to_str().unwrap_or_default()),
                );
                if let Ok(value) = HeaderValue::from_str(&csp) {
                    headers.insert(header::CONTENT_SECURITY_POLICY, value);
                }
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
