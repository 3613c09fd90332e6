//! The platform, for admins: dealerships ([`dealerships`]), dealer groups and who holds a group
//! role ([`groups`]), the loaded policy and its reload ([`policy`]). Any user is the staff
//! directory's, at platform reach.

mod dealerships;
mod groups;
mod policy;

use poem::{Route, get, post};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    authz::{Action, Reach, Resource},
    error::AppError,
    scope::{Caller, RequestScope},
    service::Page,
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
    let grant = state.grant(me, resource, action)?;
    if grant.reach() != Reach::Any {
        return Err(AppError::Forbidden);
    }
    state.open(&grant).await
}

/// Commits `scope` if `result` is a success; a failure rolls it back (dropped).
async fn committed<T>(scope: RequestScope, result: Result<T, AppError>) -> Result<T, AppError> {
    let value = result?;
    scope.commit().await?;
    Ok(value)
}

/// An id from the path: one that is not a UUID names nothing (the not-found page).
fn id_of(raw: &str, what: &'static str) -> Result<Uuid, AppError> {
    Uuid::try_parse(raw).map_err(|_| AppError::NotFound(what))
}

/// `?offset=` of a list page.
#[derive(Deserialize, Default)]
pub struct At {
    #[serde(default)]
    offset: Option<i64>,
}

/// Pages of 50, "Previous" and "Next" as links.
pub struct Pager {
    pub page: Page,
    pub total: u64,
    /// The list's path, without its query.
    pub path: String,
}

impl Pager {
    const SIZE: i64 = 50;

    /// The page at `at` (the API's bounds: a bad offset is its 422).
    fn at(at: &At) -> Result<Page, AppError> {
        Page::parse(Some(Self::SIZE), at.offset)
    }

    fn new(page: Page, total: u64, path: impl Into<String>) -> Self {
        Self {
            page,
            total,
            path: path.into(),
        }
    }

    pub fn previous(&self) -> Option<String> {
        (self.page.offset > 0).then(|| {
            let offset = self.page.offset.saturating_sub(self.page.limit);
            format!("{}?offset={offset}", self.path)
        })
    }

    pub fn next(&self) -> Option<String> {
        let offset = self.page.offset + self.page.limit;
        (offset < self.total).then(|| format!("{}?offset={offset}", self.path))
    }

    /// "51–100 of 130".
    pub fn shown(&self, count: usize) -> String {
        match count {
            0 => format!("None of {}", self.total),
            n => format!(
                "{}–{} of {}",
                self.page.offset + 1,
                self.page.offset + n as u64,
                self.total
            ),
        }
    }
}
