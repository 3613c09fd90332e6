//! A principal's dealership: its custom roles ([`roles`]), its profile and MFA requirement
//! ([`dealership`]), its audit log ([`audit`]), its service accounts ([`machines`]), its signed
//! webhooks ([`webhooks`]).

mod audit;
mod dealership;
mod grid;
mod machines;
mod review;
mod roles;
mod webhooks;

use poem::{Route, get, post};

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
        .at("/roles", get(roles::list).post(roles::create))
        .at("/roles/:id", get(roles::show).post(roles::update))
        .at("/roles/:id/delete", post(roles::delete))
        .at("/dealership", get(dealership::own))
        .at(
            "/dealership/:id",
            get(dealership::show).post(dealership::save),
        )
        .at("/audit", get(audit::list))
        .at(
            "/service-accounts",
            get(machines::list).post(machines::create),
        )
        .at("/service-accounts/:id/revoke", post(machines::revoke))
        .at("/webhooks", get(webhooks::list).post(webhooks::create))
        .at("/webhooks/:id", get(webhooks::show))
        .at("/webhooks/:id/active", post(webhooks::activate))
        .at(
            "/webhooks/:id/events/:event_id/redeliver",
            post(webhooks::redeliver),
        )
        .at("/access-review", get(review::show))
        .at("/access-review.csv", get(review::csv))
        .at("/access-review/completions", post(review::complete))
}

pub(super) use super::list::{PAGE, Pager, id_of};
pub(super) use dealership::ProfileForm;
