//! `/api/v1/access-review`: who has access within the caller's reach, as JSON or CSV, and the
//! record that a review was done (FTC Safeguards Rule 314.4(c)(1)).

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{Nullable, json_string, json_string_or_null},
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    service::{
        Page,
        access_review::{
            self, Entry,
            completions::{self, Completion, NewCompletion},
        },
    },
    state::AppState,
};

mod file;

pub use file::Export;

/// One principal with access. Times are RFC 3339 UTC.
#[derive(Debug, Object)]
pub struct AccessReviewEntry {
    /// `person` (a membership) or `service_account`.
    kind: String,
    /// The membership (`/users/{id}`), or the service account (`/service-accounts/{id}`).
    id: Uuid,
    /// Empty for a service account.
    email: String,
    /// A service account's name.
    first_name: String,
    last_name: String,
    dealership_id: Nullable<Uuid>,
    dealership: Nullable<String>,
    /// The dealer group of a group membership.
    group_id: Nullable<Uuid>,
    /// The built-in role (a custom role's base role).
    role: String,
    custom_role: Nullable<String>,
    /// A custom role's permissions as `resource:action:scope`; empty for a built-in role.
    permissions: Vec<String>,
    /// `active` or `inactive`.
    status: String,
    second_factor: bool,
    last_sign_in: Nullable<DateTime<Utc>>,
    /// The last sign-in, switch or refresh (refreshes counted at most daily), or the deploy
    /// that began tracking it.
    last_active_at: DateTime<Utc>,
    /// When it will be deactivated as dormant unless used; `null` when dormancy is off for it.
    dormant_at: Nullable<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// Who added it (a membership id), and their email where the caller can see them.
    created_by_id: Nullable<Uuid>,
    created_by: Nullable<String>,
    /// The last change of its role, from the audit log.
    last_role_change_at: Nullable<DateTime<Utc>>,
    last_role_change_by_id: Nullable<Uuid>,
    last_role_change_by: Nullable<String>,
    /// Why a reviewer should look: `no_second_factor`, `dormant_soon`, `admin_level`.
    attention: Vec<String>,
}

impl AccessReviewEntry {
    fn of(e: Entry, notice_days: u32) -> Self {
        let attention = e
            .attention(notice_days)
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        Self {
            kind: e.kind.to_owned(),
            id: e.id,
            email: e.email,
            first_name: e.first_name,
            last_name: e.last_name,
            dealership_id: e.dealership_id.into(),
            dealership: e.dealership.into(),
            group_id: e.group_id.into(),
            role: e.role,
            custom_role: e.custom_role.into(),
            permissions: e.permissions,
            status: if e.is_active { "active" } else { "inactive" }.to_owned(),
            second_factor: e.second_factor,
            last_sign_in: e.last_sign_in.into(),
            last_active_at: e.last_active_at,
            dormant_at: e.dormant_at.into(),
            created_at: e.created_at,
            created_by_id: e.created_by_id.into(),
            created_by: e.created_by.into(),
            last_role_change_at: e.role_changed_at.into(),
            last_role_change_by_id: e.role_changed_by_id.into(),
            last_role_change_by: e.role_changed_by.into(),
            attention,
        }
    }
}

/// The file an export is: `json` (the default) or `csv`; `Accept: text/csv` also asks for CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// That a review was done: by whom, when, over which export.
#[derive(Debug, Object)]
struct AccessReviewCompletion {
    id: Uuid,
    /// The dealership reviewed; `null` for a group's review or the platform's.
    dealership_id: Nullable<Uuid>,
    group_id: Nullable<Uuid>,
    /// The membership that completed it.
    completed_by: Uuid,
    /// SHA-256 (hex) of the export reviewed.
    export_sha256: String,
    note: Nullable<String>,
    completed_at: DateTime<Utc>,
}

impl From<Completion> for AccessReviewCompletion {
    fn from(c: Completion) -> Self {
        Self {
            id: c.id,
            dealership_id: c.dealership_id.into(),
            group_id: c.group_id.into(),
            completed_by: c.completed_by,
            export_sha256: c.export_sha256,
            note: c.note.into(),
            completed_at: c.completed_at,
        }
    }
}

/// A review done.
#[derive(Object)]
struct NewAccessReviewCompletion {
    /// The SHA-256 of the export reviewed, 64 hex digits: the `X-Export-SHA256` header of
    /// `GET /access-review`.
    #[oai(deserialize_with = "json_string")]
    export_sha256: String,
    /// Up to 2,000 characters: what was found, what was changed.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    note: Option<String>,
}

#[derive(ApiResponse)]
enum CompletionList {
    /// Completed reviews, newest first; `X-Total-Count` counts all.
    #[oai(status = 200)]
    Ok(
        Json<Vec<AccessReviewCompletion>>,
        #[oai(header = "X-Total-Count")] u64,
    ),
}

#[derive(ApiResponse)]
enum Completed {
    /// Recorded and audited (`access_review.completed`).
    #[oai(status = 201)]
    Created(Json<AccessReviewCompletion>),
}

pub struct AccessReviewApi;

#[OpenApi(prefix_path = "/api/v1/access-review", tag = "ApiTags::AccessReview")]
impl AccessReviewApi {
    /// Everyone with access in the caller's reach: their dealership (principal), their group's
    /// (group principal), or the platform (admin). JSON, or CSV with `format=csv` or
    /// `Accept: text/csv`; `X-Export-SHA256` is the hash a completion records.
    ///
    /// **Permissions:** `access_review:list` at `dealership`, `group` or `any` scope.
    #[oai(path = "/", method = "get")]
    async fn export(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(format): Query<Option<ExportFormat>>,
        request: &Request,
    ) -> ApiResult<Export, set::Listing> {
        let scope = state
            .begin(&me, Resource::AccessReview, Action::List)
            .await?;
        let entries = access_review::list(&state, &scope).await?;
        scope.commit().await?;
        let format = file::chosen(format, request);
        Ok(Export::of(
            entries,
            format,
            state.settings.accounts.dormant_notice_days,
        )?)
    }

    /// Past completed reviews in the caller's reach, newest first.
    ///
    /// **Permissions:** `access_review:list` at `dealership`, `group` or `any` scope.
    #[oai(path = "/completions", method = "get")]
    async fn completions(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<CompletionList, set::Listing> {
        let page = Page::parse(limit, offset)?;
        let scope = state
            .begin(&me, Resource::AccessReview, Action::List)
            .await?;
        let (done, total) = completions::list(&scope, page).await?;
        scope.commit().await?;
        let done = done.into_iter().map(Into::into).collect();
        Ok(CompletionList::Ok(Json(done), total))
    }

    /// Records that the caller reviewed the access of their reach, with the export's hash.
    ///
    /// **Permissions:** `access_review:create` at `dealership`, `group` or `any` scope.
    #[oai(path = "/completions", method = "post")]
    async fn complete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<NewAccessReviewCompletion>,
    ) -> ApiResult<Completed, set::Register> {
        let scope = state
            .begin(&me, Resource::AccessReview, Action::Create)
            .await?;
        let new = NewCompletion::parse(&body.export_sha256, body.note)?;
        let done = completions::record(&scope, new).await?;
        scope.commit().await?;
        Ok(Completed::Created(Json(done.into())))
    }
}
