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
                .post(authorize::authorize_post),
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
                .post(logout::logout_post),
        )
        .at(
            "/logout/confirm",
            post(logout::confirm.around(session::attend)),
        )
}
