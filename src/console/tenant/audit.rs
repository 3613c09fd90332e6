//! The audit log at the console, at the caller's reach (a principal: their dealership; an
//! admin: the platform's, with a dealership filter), filtered as `GET /audit-events` is. The
//! filter form updates the results in place with htmx; the same URL without htmx is the page.

use askama::Template;
use chrono::{DateTime, NaiveDateTime, Utc};
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{PAGE, Pager};
use crate::{
    authz::{Action, Reach, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame},
        visitor::Me,
    },
    domain::Invalid,
    entity::audit_event,
    error::AppError,
    http::fields,
    scope::Caller,
    service::audit::{self, EventFilter},
    state::AppState,
};

/// The filters, as the query string carries them (the API's names; times also as a
/// `datetime-local` input sends them, read as UTC).
#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    dealership_id: String,
    #[serde(default)]
    offset: Option<i64>,
}

fn an_id(raw: &str) -> Result<Uuid, Invalid> {
    Uuid::try_parse(raw).map_err(|_| Invalid::new("must be a UUID"))
}

fn a_time(raw: &str) -> Result<DateTime<Utc>, Invalid> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
        .map_err(|_| Invalid::new("must be a date and time (UTC)"))
}

impl Filters {
    fn parse(&self) -> Result<EventFilter, AppError> {
        let (actor_id, target_id, dealership_id, since, until) = fields::check((
            (
                "actor_id",
                fields::optional(Some(self.actor_id.as_str()), an_id),
            ),
            (
                "target_id",
                fields::optional(Some(self.target_id.as_str()), an_id),
            ),
            (
                "dealership_id",
                fields::optional(Some(self.dealership_id.as_str()), an_id),
            ),
            ("since", fields::optional(Some(self.since.as_str()), a_time)),
            ("until", fields::optional(Some(self.until.as_str()), a_time)),
        ))?;
        let action = Some(self.action.trim().to_owned()).filter(|a| !a.is_empty());
        let mut filter = EventFilter::new(action, actor_id, target_id, since, until);
        filter.dealership_id = dealership_id;
        Ok(filter)
    }

    /// What the Previous/Next links keep.
    fn kept(&self) -> [(&'static str, &str); 6] {
        [
            ("action", &self.action),
            ("actor_id", &self.actor_id),
            ("target_id", &self.target_id),
            ("since", &self.since),
            ("until", &self.until),
            ("dealership_id", &self.dealership_id),
        ]
    }
}

/// One event as the table shows it.
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub dealership_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<Uuid>,
    /// Compact JSON (escaped when shown, as everything is).
    pub changes: Option<String>,
}

impl From<audit_event::Model> for EventRow {
    fn from(e: audit_event::Model) -> Self {
        Self {
            at: e.at,
            dealership_id: e.dealership_id,
            actor_id: e.actor_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            changes: e.changes.map(|c| c.to_string()),
        }
    }
}

pub struct Results {
    pub rows: Vec<EventRow>,
    pub pager: Pager,
    /// A column for the dealership (a caller reaching more than one).
    pub wide: bool,
}

/// The results alone: what an htmx request gets.
#[derive(Template)]
#[template(path = "console/audit_results.html")]
struct AuditResults {
    results: Results,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    frame: Frame,
    filters: Filters,
    results: Results,
    errors: Errors,
}

/// The audit log, filtered; an htmx request gets the results only.
///
/// **Permissions:** `audit_events:list` at `dealership` or wider, as `GET /audit-events`.
#[handler]
pub async fn list(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(filters): Query<Filters>,
) -> Result<Response, Failure> {
    let (results, errors) = match search(&state, &me, &filters).await {
        Ok(results) => (results, Errors::none()),
        Err(err) => {
            let errors = Errors::shown(err, &[]).map_err(|e| Failure::from_request(e, req))?;
            (nothing(&me, &state), errors)
        }
    };
    // a history restore wants the whole page back
    if req.header("hx-request").is_some() && req.header("hx-history-restore-request").is_none() {
        // htmx swaps 2xx answers only: the results say what was wrong with the filters
        let partial = AuditResults { results, errors };
        return Ok(page::render(StatusCode::OK, &partial));
    }
    whole(&state, req, &me, filters, results, errors).await
}

/// The page around the results, with the filter form.
async fn whole(
    state: &AppState,
    req: &Request,
    me: &Caller,
    filters: Filters,
    results: Results,
    errors: Errors,
) -> Result<Response, Failure> {
    let frame = Frame::of(state, req, me, "Audit log", "/console/audit").await?;
    let status = errors.status();
    let page = AuditPage {
        frame,
        filters,
        results,
        errors,
    };
    Ok(page::render(status, &page))
}

async fn search(state: &AppState, me: &Caller, filters: &Filters) -> Result<Results, AppError> {
    let scope = state.begin(me, Resource::AuditEvents, Action::List).await?;
    let filter = filters.parse()?;
    let offset = filters.offset.unwrap_or(0);
    let (events, total) = audit::list(&scope, &filter, Some(PAGE), Some(offset)).await?;
    let wide = scope.reach() > Reach::Dealership;
    scope.commit().await?;
    Ok(Results {
        rows: events.into_iter().map(EventRow::from).collect(),
        pager: Pager::of("/console/audit", &filters.kept(), offset, total),
        wide,
    })
}

/// No results (the filters were not understood).
fn nothing(me: &Caller, state: &AppState) -> Results {
    let wide = state
        .grant(me, Resource::AuditEvents, Action::List)
        .is_ok_and(|g| g.reach() > Reach::Dealership);
    Results {
        rows: Vec::new(),
        pager: Pager::of("/console/audit", &[], 0, 0),
        wide,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_rfc_3339_or_as_a_datetime_local_input_sends_them_in_utc() {
        let local = a_time("2026-03-01T09:30").unwrap();
        assert_eq!(local.to_rfc3339(), "2026-03-01T09:30:00+00:00");
        let zoned = a_time("2026-03-01T10:30:00+01:00").unwrap();
        assert_eq!(zoned, local);
        assert!(a_time("yesterday").is_err());
    }

    #[test]
    fn every_invalid_filter_is_named_and_blank_ones_are_no_filter() {
        let filters = Filters {
            actor_id: "nobody".into(),
            until: "never".into(),
            action: "  ".into(),
            ..Filters::default()
        };
        let Err(AppError::Validation(fields)) = filters.parse() else {
            panic!("invalid filters");
        };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["actor_id", "until"]);
        let blank = Filters::default().parse().unwrap();
        assert!(blank.action.is_none() && blank.dealership_id.is_none());
    }
}
