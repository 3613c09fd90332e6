//! A principal's dealership: its custom roles ([`roles`]), its profile and MFA requirement
//! ([`dealership`]), its audit log ([`audit`]).

mod audit;
mod dealership;
mod grid;
mod roles;

use poem::{Route, get, post};
use uuid::Uuid;

use crate::error::AppError;

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
}

/// A page of a list: 50 rows, as the API's default.
const PAGE: i64 = 50;

/// An id in a console path; anything else is no such thing (as an unknown id is).
fn id_of(raw: &str, what: &'static str) -> Result<Uuid, AppError> {
    Uuid::try_parse(raw).map_err(|_| AppError::NotFound(what))
}

/// Previous and Next of a list at `offset` of `total`, keeping the filters `kept`.
pub struct Pager {
    pub previous: Option<String>,
    pub next: Option<String>,
    pub first: u64,
    pub last: u64,
    pub total: u64,
}

impl Pager {
    fn of(path: &str, kept: &[(&str, &str)], offset: i64, total: u64) -> Self {
        let href = |offset: i64| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in kept.iter().filter(|(_, v)| !v.is_empty()) {
                query.append_pair(name, value);
            }
            if offset > 0 {
                query.append_pair("offset", &offset.to_string());
            }
            let query = query.finish();
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            }
        };
        let offset = offset.max(0);
        let shown_to = (offset + PAGE).min(i64::try_from(total).unwrap_or(i64::MAX));
        Self {
            previous: (offset > 0).then(|| href((offset - PAGE).max(0))),
            next: (shown_to < i64::try_from(total).unwrap_or(i64::MAX))
                .then(|| href(offset + PAGE)),
            first: u64::try_from(offset).unwrap_or(0) + u64::from(total > 0),
            last: u64::try_from(shown_to).unwrap_or(0),
            total,
        }
    }
}
