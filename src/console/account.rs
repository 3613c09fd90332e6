//! The caller's own account: profile, password, phone, email, second factors, sessions,
//! dealerships.

use poem::Route;

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
}
