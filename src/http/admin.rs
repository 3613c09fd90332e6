//! `/api/v1/admin`: the platform's controls — the authorization policy in force.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    dto::Nullable,
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, PolicySummary, Resource},
    service::policies,
    state::AppState,
};

#[derive(Object)]
struct LoadedPolicy {
    /// SHA-256 of `model.conf`, `policy.csv` and `tests.csv`.
    hash: String,
    loaded_at: DateTime<Utc>,
    /// The rows of `policy.csv`, e.g. `["p", "agent", "users", "read", "self"]`.
    rows: Vec<Vec<String>>,
    /// Why the newest files on disk were refused, if they were (the loaded policy stays).
    rejected: Nullable<String>,
}

impl LoadedPolicy {
    fn new(summary: PolicySummary, rejected: Option<String>) -> Self {
        Self {
            hash: summary.hash,
            loaded_at: summary.loaded_at,
            rows: summary.rows,
            rejected: rejected.into(),
        }
    }
}

pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v1/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// The authorization policy in force.
    ///
    /// **Permissions:** `policies:read` at `any` scope.
    #[oai(path = "/policies", method = "get")]
    async fn policies(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<LoadedPolicy>, set::Caller> {
        let grant = state.grant(&me, Resource::Policies, Action::Read)?;
        let (summary, rejected) = policies::in_force(&state.authz, &grant)?;
        Ok(Json(LoadedPolicy::new(summary, rejected)))
    }

    /// Re-read `policies/` and, if it is valid and its `tests.csv` passes, put it in force on
    /// every replica; otherwise 422 with the reasons, and the old policy stays.
    ///
    /// **Permissions:** `policies:update` at `any` scope.
    #[oai(path = "/policies/reload", method = "post")]
    async fn reload(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<LoadedPolicy>, set::Reload> {
        let grant = state.grant(&me, Resource::Policies, Action::Update)?;
        let summary = policies::reload(&state, &grant).await?;
        Ok(Json(LoadedPolicy::new(summary, None)))
    }
}
