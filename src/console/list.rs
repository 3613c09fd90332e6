//! What every list page shares: pages of [`PAGE`] rows with Previous and Next links that keep
//! the list's filters, and ids read from paths.

use serde::Deserialize;
use uuid::Uuid;

use crate::{error::AppError, service::Page};

/// A page of a list: 50 rows, as the API's default.
pub const PAGE: i64 = 50;

/// An id in a console path; anything else is no such thing (as an unknown id is).
pub fn id_of(raw: &str, what: &'static str) -> Result<Uuid, AppError> {
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
    pub fn of(path: &str, kept: &[(&str, &str)], offset: i64, total: u64) -> Self {
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

/// `?offset=` of a list without filters.
#[derive(Deserialize, Default)]
pub struct At {
    #[serde(default)]
    offset: Option<i64>,
}

impl At {
    /// The page at this offset (the API's bounds: a bad offset is its 422).
    pub fn page(&self) -> Result<Page, AppError> {
        Page::parse(Some(PAGE), self.offset)
    }
}
