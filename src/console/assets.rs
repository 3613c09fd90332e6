//! The console's two static files, embedded in the binary: htmx (vendored, pinned: see
//! `assets/README.md`) and our stylesheet. Named by version, so they may be cached for long.

use poem::{Response, handler, http::header};

const HTMX: &[u8] = include_bytes!("assets/htmx-2.0.11.min.js");
const STYLESHEET: &[u8] = include_bytes!("assets/console.css");

/// Paths the pages link to.
pub const HTMX_PATH: &str = "/console/assets/htmx-2.0.11.min.js";
pub const STYLESHEET_PATH: &str = "/console/assets/console-1.css";

fn asset(body: &'static [u8], content_type: &str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, "public, max-age=604800, immutable")
        .body(body)
}

#[handler]
pub fn htmx() -> Response {
    asset(HTMX, "text/javascript; charset=utf-8")
}

#[handler]
pub fn stylesheet() -> Response {
    asset(STYLESHEET, "text/css; charset=utf-8")
}
