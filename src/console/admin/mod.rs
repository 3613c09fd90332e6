//! The platform, for admins: dealerships, dealer groups, any user, the loaded policy.

use poem::Route;

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
}
