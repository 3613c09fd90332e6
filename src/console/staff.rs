//! Staff of the caller's dealership(s): the directory, a person's page and what a principal
//! does to them, and invitations.

use poem::Route;

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
}
