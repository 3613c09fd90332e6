//! A principal's dealership: its profile and MFA requirement, its custom roles, its audit log.

use poem::Route;

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
}
