//! The OpenID provider's pages, at `/oauth2/authorize` and `/oauth2/logout`: console pages
//! (the same session, CSRF, frame and templates) that a relying party sends the browser to.

mod authorize;
mod flow;
mod logout;

use poem::{EndpointExt, Route, RouteMethod, get, post};

use super::session;

/// Where sign-in and step-up return to while an authorization request waits.
pub const RESUME: &str = "/oauth2/authorize/resume";

/// The pages, to be nested at `/oauth2`. A relying party may POST its request (a form on its
/// own site): that is answered outside the session middleware (which would refuse a foreign
/// form) by sending the browser to the same request as a GET.
pub fn pages() -> Route {
    Route::new()
        .at(
            "/authorize",
            RouteMethod::new()
                .get(authorize::authorize.around(session::attend))
                .post(as_get),
        )
        .at(
            "/authorize/resume",
            get(authorize::resume.around(session::attend)),
        )
        .at(
            "/authorize/choose",
            post(authorize::choose.around(session::attend)),
        )
        .at(
            "/authorize/consent",
            post(authorize::consent.around(session::attend)),
        )
        .at(
            "/logout",
            RouteMethod::new()
                .get(logout::logout.around(session::attend))
                .post(as_get),
        )
        .at(
            "/logout/confirm",
            post(logout::confirm.around(session::attend)),
        )
}

/// A relying party's form POST (its request on its own site), answered outside the session
/// middleware: the browser is sent to the same address with the form as its query, a GET that
/// arrives with the console's cookie and needs no CSRF token.
#[poem::handler]
async fn as_get(req: &poem::Request, body: poem::Body) -> poem::Response {
    let query = body.into_string().await.unwrap_or_default();
    poem::Response::builder()
        .status(poem::http::StatusCode::SEE_OTHER)
        .header(
            poem::http::header::LOCATION,
            format!("{}?{query}", req.original_uri().path()),
        )
        .finish()
}
