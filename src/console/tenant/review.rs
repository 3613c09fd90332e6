//! The access review at the console: MFA coverage, everyone with access in the caller's reach
//! with those needing attention first (no second factor, dormant soon, admin-level roles), the
//! CSV download and the form that records a completed review — the API's services.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form},
};
use serde::Deserialize;

use crate::{
    authz::{Action, Resource},
    console::{
        page::{self, Failure, Frame},
        visitor::Me,
    },
    service::access_review::{
        self, Attention, Entry,
        completions::{self, NewCompletion},
        coverage, export,
    },
    state::AppState,
};

struct Row {
    entry: Entry,
    why: Vec<Attention>,
}

#[derive(Template)]
#[template(path = "console/access_review.html")]
struct ReviewPage {
    frame: Frame,
    rows: Vec<Row>,
    people: u64,
    with_factor: u64,
    hash: String,
}

/// The review: coverage, then the entries, those needing attention first.
///
/// **Permissions:** `access_review:list`, as `GET /access-review`.
#[handler]
pub async fn show(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    let scope = state
        .begin(&me, Resource::AccessReview, Action::List)
        .await?;
    let entries = access_review::list(&state, &scope).await?;
    scope.commit().await?;
    let hash = export::sha256(&export::csv(&entries)?);
    let (_, total, _) = coverage::of(&entries);
    let notice = state.settings.accounts.dormant_notice_days;
    let mut rows: Vec<Row> = entries
        .into_iter()
        .map(|entry| Row {
            why: entry.attention(notice),
            entry,
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.why.len()));
    let frame = Frame::of(&state, req, &me, "Access review", "/console/access-review").await?;
    let page = ReviewPage {
        frame,
        rows,
        people: total.people,
        with_factor: total.with_second_factor,
        hash,
    };
    Ok(page::render(StatusCode::OK, &page))
}

/// The CSV the API sends for `format=csv`, as a download.
#[handler]
pub async fn csv(state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    let scope = state
        .begin(&me, Resource::AccessReview, Action::List)
        .await?;
    let entries = access_review::list(&state, &scope).await?;
    scope.commit().await?;
    let body = export::csv(&entries)?;
    Ok(Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            "Content-Disposition",
            "attachment; filename=\"access-review.csv\"",
        )
        .header("X-Export-SHA256", export::sha256(&body))
        .body(body))
}

#[derive(Deserialize)]
pub struct Completed {
    export_sha256: String,
    #[serde(default)]
    note: String,
}

/// Records a completed review with the reviewed export's hash, as
/// `POST /access-review/completions`.
#[handler]
pub async fn complete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<Completed>,
) -> Result<Response, Failure> {
    let scope = state
        .begin(&me, Resource::AccessReview, Action::Create)
        .await?;
    let new = NewCompletion::parse(&form.export_sha256, Some(form.note))?;
    completions::record(&scope, new).await?;
    scope.commit().await?;
    Ok(page::done(
        req,
        &state,
        "/console/access-review",
        "Review recorded.",
    ))
}
