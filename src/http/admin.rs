//! `/api/v1/admin`: the platform's controls — the authorization policy in force.

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    dto::Nullable,
    error::{ApiResult, set},
    security::{BearerAuth, request_meta},
};
use crate::{
    authz::{Action, PolicySummary, Reach, Resource, reload},
    error::{AppError, FieldError},
    service::audit,
    state::AppState,
    tenancy::Scope,
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
        auth: BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<Json<LoadedPolicy>, set::Caller> {
        platform_only(
            state
                .authz
                .grant(&auth.0, Resource::Policies, Action::Read)?,
        )?;
        Ok(Json(LoadedPolicy::new(
            state.authz.summary(),
            state.authz.last_error(),
        )))
    }

    /// Re-read `policies/` and, if it is valid and its `tests.csv` passes, put it in force on
    /// every replica; otherwise 422 with the reasons, and the old policy stays.
    ///
    /// **Permissions:** `policies:update` at `any` scope.
    #[oai(path = "/policies/reload", method = "post")]
    async fn reload(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
    ) -> ApiResult<Json<LoadedPolicy>, set::Reload> {
        platform_only(
            state
                .authz
                .grant(&auth.0, Resource::Policies, Action::Update)?,
        )?;
        let outcome = state.authz.reload().await;
        let (action, changes) = match &outcome {
            Ok(summary) => ("policy.reloaded", serde_json::json!({"hash": summary.hash})),
            Err(reasons) => ("policy.rejected", serde_json::json!({"reasons": reasons})),
        };
        let tx = state.db.begin(Scope::Platform).await?;
        if let Ok(summary) = &outcome {
            reload::announce(&tx, &summary.hash).await?;
        }
        let event = audit::Event {
            actor_id: Some(auth.0.user_id),
            action,
            target_type: "policy",
            changes: Some(changes),
            ..audit::Event::default()
        };
        audit::record(&tx, &request_meta(req, &state), event).await?;
        tx.commit().await?;
        match outcome {
            Ok(summary) => Ok(Json(LoadedPolicy::new(summary, None))),
            Err(reasons) => Err(AppError::Validation(
                reasons
                    .into_iter()
                    .map(|r| FieldError::new("policy", r))
                    .collect(),
            )
            .into()),
        }
    }
}

fn platform_only(reach: Reach) -> Result<(), AppError> {
    if reach == Reach::Any {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
