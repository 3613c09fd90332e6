//! `/api/v1/admin`: the platform's controls — the authorization policy in force.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::Nullable,
    error::{ApiResult, set},
    roles::Permission,
    security::BearerAuth,
};
use crate::{
    authz::{self, Action, PolicySummary, Resource},
    domain::Role,
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
    /// Every dealership's custom roles, merged into the enforcer next to the files' rows
    /// (each as the subject `custom:<id>`, inheriting its base role).
    custom_roles: Vec<MergedRole>,
    /// Why the newest files on disk were refused, if they were (the loaded policy stays).
    rejected: Nullable<String>,
}

/// A custom role as the enforcer holds it.
#[derive(Object)]
struct MergedRole {
    id: Uuid,
    dealership_id: Uuid,
    name: String,
    base_role: Role,
    permissions: Vec<Permission>,
}

impl From<&authz::CustomRole> for MergedRole {
    fn from(r: &authz::CustomRole) -> Self {
        Self {
            id: r.id,
            dealership_id: r.dealership_id,
            name: r.name.clone(),
            base_role: r.base,
            permissions: r.permissions.iter().map(|p| (*p).into()).collect(),
        }
    }
}

impl LoadedPolicy {
    fn new(summary: PolicySummary, rejected: Option<String>) -> Self {
        Self {
            hash: summary.hash,
            loaded_at: summary.loaded_at,
            rows: summary.rows,
            custom_roles: summary.roles.iter().map(MergedRole::from).collect(),
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
    /// every replica; otherwise 422 with the reasons, and the old policy stays. Either way one
    /// audit event records it: `policy.reloaded` with the new and previous hash and the rules
    /// added and removed, or `policy.rejected` with the reasons.
    ///
    /// **Permissions:** `policies:update` at `any` scope.
    #[oai(path = "/policies/reload", method = "post")]
    async fn reload(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<LoadedPolicy>, set::Reload> {
        let grant = state.grant(&me, Resource::Policies, Action::Update)?;
        let reloaded = policies::reload(&state, &grant).await?;
        Ok(Json(LoadedPolicy::new(reloaded.summary, None)))
    }
}
