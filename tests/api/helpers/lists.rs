//! Lists as case tables: each row a caller, a path with its query, and the answer it must get
//! (rows by id, a page of the unpaged answer, a count, a 4xx) — run by [`check_cases`], which
//! reports every failing row at once, like the isolation matrix.

use std::{collections::HashMap, ops::Range};

use serde_json::Value;
use uuid::Uuid;

use super::{
    TestApp, error_of,
    fixtures::{DEMO_USERS, DemoUser, METRO_MOTORS, PREMIUM_AUTO},
};

/// What one list request must answer.
#[derive(Debug)]
pub enum Want {
    /// 200 with exactly the rows of these ids, in any order, and an `X-Total-Count` of as many.
    Ids(Vec<Uuid>),
    /// 200 with this many rows and an `X-Total-Count` of as many.
    Len(usize),
    /// 200 with at least one row, every one of them of this dealership (`dealership_id`).
    OnlyOf(Uuid),
    /// 200 with rows `range` of the same request without `limit` and `offset`, and an
    /// `X-Total-Count` of every match, paged or not.
    Page(Range<usize>, u64),
    /// 200 from a `…/count` route: `{"count": n}`.
    Count(u64),
    /// 422 with the error body, its `details` naming exactly these fields in this order.
    Invalid(&'static [&'static str]),
    /// This status, with the error body.
    Refused(u16),
}

/// 200 with exactly these demo users.
pub fn users(list: &[DemoUser]) -> Want {
    Want::Ids(list.iter().map(|u| u.id).collect())
}

/// One row of a table.
#[derive(Debug)]
pub struct Case {
    pub caller: &'static DemoUser,
    pub path: String,
    pub want: Want,
}

pub fn case(caller: &'static DemoUser, path: impl Into<String>, want: Want) -> Case {
    Case {
        caller,
        path: path.into(),
        want,
    }
}

/// A successful list answer: its rows and its `X-Total-Count`.
pub struct Listing {
    pub rows: Vec<Value>,
    pub total: u64,
}

impl Listing {
    /// The rows' ids, in the order listed.
    pub fn ids(&self) -> Vec<Uuid> {
        self.rows
            .iter()
            .map(|row| row["id"].as_str().and_then(|s| s.parse().ok()))
            .collect::<Option<_>>()
            .unwrap_or_else(|| panic!("every row has an id: {:?}", self.rows))
    }
}

/// The rows and `X-Total-Count` of a 200 answer.
pub async fn listing_of(resp: reqwest::Response) -> Result<Listing, String> {
    let status = resp.status();
    let total = resp
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("status {status}, want 200: {text}"));
    }
    let total = total.ok_or("no numeric X-Total-Count")?;
    let rows = serde_json::from_str(&text).map_err(|e| format!("not a JSON list ({e}): {text}"))?;
    Ok(Listing { rows, total })
}

/// `path` without its `limit` and `offset` parameters.
pub fn without_paging(path: &str) -> String {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("limit=") && !p.starts_with("offset="))
        .collect();
    match kept.as_slice() {
        [] => route.to_owned(),
        _ => format!("{route}?{}", kept.join("&")),
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

/// The ids for a failure message: demo users by email, demo dealerships by name.
fn labels(ids: &[Uuid]) -> Vec<String> {
    ids.iter()
        .map(|id| match DEMO_USERS.iter().find(|u| u.id == *id) {
            Some(user) => user.email.to_owned(),
            None if *id == PREMIUM_AUTO => "Premium Auto".to_owned(),
            None if *id == METRO_MOTORS => "Metro Motors".to_owned(),
            None => id.to_string(),
        })
        .collect()
}

async fn check(app: &TestApp, token: &str, case: &Case) -> Result<(), String> {
    let resp = app.get_as(&case.path, token).await;
    match &case.want {
        Want::Ids(ids) => {
            let list = listing_of(resp).await?;
            let (got, want) = (sorted(list.ids()), sorted(ids.clone()));
            if got != want || list.total != want.len() as u64 {
                return Err(format!(
                    "{:?} (total {}), want {:?} (total {})",
                    labels(&got),
                    list.total,
                    labels(&want),
                    want.len()
                ));
            }
        }
        Want::Len(n) => {
            let list = listing_of(resp).await?;
            if list.rows.len() != *n || list.total != *n as u64 {
                return Err(format!(
                    "{} rows (total {}), want {n}",
                    list.rows.len(),
                    list.total
                ));
            }
        }
        Want::OnlyOf(dealership) => {
            let list = listing_of(resp).await?;
            let foreign: Vec<&Value> = list
                .rows
                .iter()
                .filter(|row| row["dealership_id"] != dealership.to_string().as_str())
                .collect();
            if list.rows.is_empty() || !foreign.is_empty() {
                return Err(format!(
                    "{} rows, want some, all of {dealership}; foreign: {foreign:?}",
                    list.rows.len()
                ));
            }
        }
        Want::Page(range, total) => {
            let page = listing_of(resp).await?;
            let unpaged_path = without_paging(&case.path);
            let all = listing_of(app.get_as(&unpaged_path, token).await)
                .await
                .map_err(|e| format!("{unpaged_path}: {e}"))?;
            if all.total != *total || all.rows.len() as u64 != *total {
                return Err(format!(
                    "{unpaged_path} lists {} of {} rows, want all {total}",
                    all.rows.len(),
                    all.total
                ));
            }
            let want = all.ids().get(range.clone()).map(<[Uuid]>::to_vec);
            if Some(page.ids()) != want || page.total != *total {
                return Err(format!(
                    "page {:?} (total {}), want rows {range:?} of {:?} (total {total})",
                    labels(&page.ids()),
                    page.total,
                    labels(&all.ids())
                ));
            }
        }
        Want::Count(n) => {
            let status = resp.status();
            let body: Value = resp.json().await.map_err(|e| e.to_string())?;
            if status != 200 || body["count"] != *n {
                return Err(format!("{status} {body}, want 200 with count {n}"));
            }
        }
        Want::Invalid(fields) => {
            if resp.status() != 422 {
                return Err(format!("status {}, want 422", resp.status()));
            }
            let error = error_of(resp, 422).await;
            let named: Vec<&str> = error["details"]
                .as_array()
                .map(|d| d.iter().filter_map(|d| d["field"].as_str()).collect())
                .unwrap_or_default();
            if named != *fields {
                return Err(format!("fields {named:?}, want {fields:?}: {error}"));
            }
        }
        Want::Refused(status) => {
            if resp.status() != *status {
                return Err(format!("status {}, want {status}", resp.status()));
            }
            error_of(resp, *status).await;
        }
    }
    Ok(())
}

/// Runs every case (each caller signed in once) and fails listing every row that did not get
/// its answer.
pub async fn check_cases(app: &TestApp, cases: &[Case]) {
    let mut tokens: HashMap<&str, String> = HashMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let caller = case.caller;
        if !tokens.contains_key(caller.email) {
            let token = app.login_ok(caller.email, caller.password).await.access;
            tokens.insert(caller.email, token);
        }
        if let Err(why) = check(app, &tokens[caller.email], case).await {
            failures.push(format!(
                "GET {} as {} ({}): {why}",
                case.path, caller.email, caller.role
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
