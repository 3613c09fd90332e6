//! `GET /console/staff`: the staff directory at the caller's reach, searched, filtered and
//! paged as `GET /api/v1/users` is; htmx asks for the results alone.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{Choice, dealership_choices, when};
use crate::{
    authz::{Action, Reach, Resource},
    console::{
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    domain::Role,
    entity::user,
    error::AppError,
    service::{
        Page,
        users::directory::{self, UserFilter},
    },
    state::AppState,
};

const PER_PAGE: i64 = 50;

/// The filters as the query string carries them (blank: no filter).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Filters {
    pub q: String,
    pub role: String,
    /// `active` or `inactive`.
    pub status: String,
    pub dealership: String,
    pub offset: Option<i64>,
}

impl Filters {
    /// The directory's filter; a role, status or dealership the list does not know is the
    /// API's 422 on that parameter.
    fn filter(&self) -> Result<UserFilter, AppError> {
        let bad = |field: &str, message: &str| AppError::field(field, message);
        let role = match self.role.as_str() {
            "" => None,
            r => Some(
                r.parse::<Role>()
                    .map_err(|_| bad("role", "is not a role"))?,
            ),
        };
        let is_active = match self.status.as_str() {
            "" => None,
            "active" => Some(true),
            "inactive" => Some(false),
            _ => return Err(bad("status", "must be active or inactive")),
        };
        let dealership_id = match self.dealership.as_str() {
            "" => None,
            d => Some(Uuid::try_parse(d).map_err(|_| bad("dealership", "is not an id"))?),
        };
        let q = super::given(&self.q);
        Ok(UserFilter::new(role, is_active, dealership_id, q))
    }

    /// This list at `offset`, its filters kept.
    fn at(&self, offset: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("role", &self.role),
            ("status", &self.status),
            ("dealership", &self.dealership),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if offset > 0 {
            query.append_pair("offset", &offset.to_string());
        }
        format!("/console/staff?{}", query.finish())
    }
}

pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub dealership: String,
    pub active: bool,
    pub last_login: String,
}

/// One page of the directory: what the htmx partial is.
pub struct Results {
    pub rows: Vec<Row>,
    pub total: u64,
    /// The dealership column: the caller sees several.
    pub wide: bool,
    pub first: u64,
    pub last: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Results {
    fn new(users: Vec<user::Profile>, total: u64, wide: bool, filters: &Filters) -> Self {
        let offset = filters.offset.unwrap_or(0).max(0);
        let rows: Vec<Row> = users
            .into_iter()
            .map(|u| Row {
                id: u.id,
                name: format!("{} {}", u.first_name, u.last_name),
                email: u.email,
                role: role_label(u.role.as_str()),
                dealership: (u.memberships.into_iter().next())
                    .and_then(|m| m.dealership_name)
                    .unwrap_or_else(|| "—".to_owned()),
                active: u.is_active,
                last_login: when(u.last_login),
            })
            .collect();
        let shown = rows.len() as u64;
        let end = offset as u64 + shown;
        Self {
            rows,
            total,
            wide,
            first: if shown == 0 { 0 } else { offset as u64 + 1 },
            last: end,
            previous: (offset > 0).then(|| filters.at((offset - PER_PAGE).max(0))),
            next: (end < total).then(|| filters.at(offset + PER_PAGE)),
        }
    }
}

#[derive(Template)]
#[template(path = "console/staff_results.html")]
struct ResultsPartial {
    results: Results,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    frame: Frame,
    filters: Filters,
    results: Results,
    roles: Vec<Choice>,
    dealerships: Vec<Choice>,
    may_create: bool,
    may_invite: bool,
}

/// The directory; an htmx request gets the results alone (not a history restore, which
/// wants the whole page).
#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(filters): Query<Filters>,
) -> Result<Response, Failure> {
    let results = results(&state, &me, &filters)
        .await
        .map_err(|e| Failure::from_request(e, req))?;
    let partial =
        req.header("hx-request").is_some() && req.header("hx-history-restore-request").is_none();
    if partial {
        return Ok(page::render(StatusCode::OK, &ResultsPartial { results }));
    }
    whole(&state, req, &me, filters, results).await
}

async fn results(
    state: &AppState,
    me: &crate::scope::Caller,
    filters: &Filters,
) -> Result<Results, AppError> {
    let filter = filters.filter()?;
    let page = Page::parse(Some(PER_PAGE), filters.offset)?;
    let scope = state.begin(me, Resource::Users, Action::List).await?;
    let (users, total) = directory::list(&scope, &filter, page).await?;
    let wide = scope.reach() >= Reach::Group;
    scope.commit().await?;
    Ok(Results::new(users, total, wide, filters))
}

async fn whole(
    state: &AppState,
    req: &Request,
    me: &crate::scope::Caller,
    filters: Filters,
    results: Results,
) -> Result<Response, Failure> {
    let frame = Frame::of(state, req, me, "Staff", "/console/staff").await?;
    let dealerships = match results.wide {
        true => dealership_choices(state, me).await?,
        false => Vec::new(),
    };
    let roles = <Role as sea_orm::Iterable>::iter()
        .map(|r| Choice::new(r.as_str(), role_label(r.as_str())))
        .collect();
    let page = StaffPage {
        frame,
        filters,
        results,
        roles,
        dealerships,
        may_create: state.grant(me, Resource::Users, Action::Create).is_ok(),
        may_invite: state
            .grant(me, Resource::Invitations, Action::Create)
            .is_ok(),
    };
    Ok(page::render(StatusCode::OK, &page))
}
