//! The console in the browser, at `/console`: pages rendered on the server (askama, checked at
//! compile time) over the same services, policy, tenant transactions, revocations and audit
//! as the JSON API. Each handler takes the caller ([`visitor`]), asks `state.begin(..)` or a
//! service, and renders a template; a form shows the API's own field errors ([`form`]).
//!
//! A request meets, in order: [`session`] (the cookie → a caller, renewed as it ages; unsafe
//! requests checked by [`csrf`]), then the page's handler, then [`page`] (the frame, or a
//! failure as a page or a redirect). htmx (vendored, [`assets`]) updates lists in place; every
//! URL also works without JavaScript.

mod account;
mod admin;
mod assets;
mod cookies;
mod csrf;
mod factors;
mod form;
mod links;
mod list;
mod menu;
pub mod oidc;
mod page;
mod session;
mod sign_in;
mod staff;
mod tenant;
mod visitor;

use poem::{Endpoint, EndpointExt, Route, get, handler, http::StatusCode, web::Data};

use crate::state::AppState;

/// Every console route: the two static files as they are (cacheable, so never carrying a
/// cookie), the pages behind the session middleware; nothing at all when disabled.
pub fn routes(state: &AppState) -> impl Endpoint + 'static {
    let enabled = state.settings.console.enabled;
    let routes = Route::new()
        .at("/", get(overview))
        .at("/sign-in", get(sign_in::show).post(sign_in::submit))
        .at("/sign-in/code", poem::post(sign_in::code))
        .at("/sign-out", poem::post(sign_in::sign_out))
        .at("/pick", get(sign_in::pick))
        .at("/switch", poem::post(sign_in::switch))
        .at("/enrol", get(factors::start_form).post(factors::start))
        .at("/enrol/confirm", poem::post(factors::confirm))
        .at(
            "/step-up",
            get(factors::step_up_form).post(factors::step_up),
        );
    // each area's pages, from its own module
    let routes = [
        account::mount,
        links::mount,
        staff::mount,
        tenant::mount,
        admin::mount,
    ]
    .into_iter()
    .fold(routes, |routes, mount| mount(routes));
    Route::new()
        .at(
            assets::HTMX_PATH.trim_start_matches("/console"),
            get(assets::htmx),
        )
        .at(
            assets::STYLESHEET_PATH.trim_start_matches("/console"),
            get(assets::stylesheet),
        )
        .nest("/", routes.around(session::attend))
        .around(move |next, req| async move {
            if !enabled {
                return Ok(page::bare_error(404, "not found"));
            }
            next.call(req).await.map(poem::IntoResponse::into_response)
        })
}

#[derive(askama::Template)]
#[template(path = "console/home.html")]
struct Overview {
    frame: page::Frame,
}

/// The overview: who is signed in, where, their dealerships and where they can go.
#[handler]
async fn overview(
    req: &poem::Request,
    state: Data<&AppState>,
    visitor::Me(me): visitor::Me,
) -> Result<poem::Response, page::Failure> {
    let frame = page::Frame::of(&state, req, &me, "Overview", "/console").await?;
    Ok(page::render(StatusCode::OK, &Overview { frame }))
}
