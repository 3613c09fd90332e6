//! What every list page shares: pages of [`PAGE`] rows with Previous and Next links that keep
//! the list's filters, ids read from paths, and the dealerships a caller works across as the
//! choices of a `<select>`.

use serde::Deserialize;
use uuid::Uuid;

use crate::{
    authz::{Action, Reach, Resource},
    error::AppError,
    scope::Caller,
    service::{Page, dealerships},
    state::AppState,
};

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

/// A choice of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// The dealerships the caller works across, for a filter or a form's choice: those of their
/// group, or every one for an admin (the first 100); none within one dealership.
pub async fn dealership_choices(state: &AppState, me: &Caller) -> Result<Vec<Choice>, AppError> {
    let grant = state.grant(me, Resource::Dealerships, Action::List);
    let Some(grant) = grant.ok().filter(|g| g.reach() >= Reach::Group) else {
        return Ok(Vec::new());
    };
    let scope = state.open(&grant).await?;
    let (found, _) = dealerships::list(&scope, Page::parse(Some(100), None)?).await?;
    scope.commit().await?;
    let mut choices: Vec<Choice> = found
        .into_iter()
        .map(|d| Choice::new(d.id.to_string(), d.name))
        .collect();
    choices.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(choices)
}
