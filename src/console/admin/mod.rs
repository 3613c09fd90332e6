//! The platform, for admins: dealerships ([`dealerships`]), dealer groups and who holds a group
//! role ([`groups`]), the OpenID clients ([`clients`]), the loaded policy and its reload
//! ([`policy`]). Any user is the staff directory's, at platform reach.

mod client_form;
mod clients;
mod dealerships;
mod groups;
mod policy;

pub(super) use super::list::{At, Pager, id_of};
use poem::{Route, get, post};

use crate::{
    authz::{Action, Reach, Resource},
    error::AppError,
    scope::{Caller, Grant, RequestScope},
    state::AppState,
};

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
        .at(
            "/dealerships",
            get(dealerships::list).post(dealerships::create),
        )
        .at(
            "/dealerships/:id",
            get(dealerships::show).post(dealerships::edit),
        )
        .at("/dealerships/:id/active", post(dealerships::activate))
        .at("/dealerships/:id/delete", post(dealerships::delete))
        .at("/dealerships/:id/group", post(dealerships::place))
        .at("/dealerships/:id/group/clear", post(dealerships::unplace))
        .at("/groups", get(groups::list).post(groups::create))
        .at("/groups/:id", get(groups::show).post(groups::rename))
        .at("/groups/:id/delete", post(groups::delete))
        .at(
            "/groups/:id/dealerships/:dealership_id/remove",
            post(groups::take_out),
        )
        .at("/groups/:id/members", post(groups::add_member))
        .at(
            "/groups/:id/members/:member_id/remove",
            post(groups::remove_member),
        )
        .at("/clients", get(clients::list).post(clients::create))
        .at("/clients/new", get(clients::new))
        .at("/clients/:id", get(clients::show).post(clients::edit))
        .at("/clients/:id/secret", post(clients::rotate))
        .at("/clients/:id/active", post(clients::activate))
        .at("/clients/:id/delete", post(clients::delete))
        .at("/policy", get(policy::show))
        .at("/policy/reload", post(policy::reload))
}

/// A platform page's transaction: the policy's grant, which must reach every dealership (a
/// principal's own dealership is the tenant pages'; here it is the 403 page), then the
/// transaction for it.
async fn platform(
    state: &AppState,
    me: &Caller,
    resource: Resource,
    action: Action,
) -> Result<RequestScope, AppError> {
    state
        .open(&platform_grant(state, me, resource, action)?)
        .await
}

/// The policy's grant of a platform page, which must reach every dealership; 403 otherwise.
fn platform_grant(
    state: &AppState,
    me: &Caller,
    resource: Resource,
    action: Action,
) -> Result<Grant, AppError> {
    let grant = state.grant(me, resource, action)?;
    if grant.reach() != Reach::Any {
        return Err(AppError::Forbidden);
    }
    Ok(grant)
}

/// Commits `scope` if `result` is a success; a failure rolls it back (dropped).
async fn committed<T>(scope: RequestScope, result: Result<T, AppError>) -> Result<T, AppError> {
    let value = result?;
    scope.commit().await?;
    Ok(value)
}
