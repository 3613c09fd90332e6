//! Is the process alive, and may it take traffic? `/healthz` and `/readyz`.

use std::time::Duration;

use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{ApiTags, error::ApiResult};
use crate::{
    error::{AppError, FieldError},
    state::AppState,
    tenancy::posture,
};

const PING_WITHIN: Duration = Duration::from_secs(2);

#[derive(Object)]
struct Alive {
    status: String,
}

#[derive(Object)]
struct Readiness {
    status: String,
    /// The checks that passed.
    checks: Vec<String>,
    /// The authorization policy in force.
    policy: PolicyStatus,
}

#[derive(Object)]
struct PolicyStatus {
    hash: String,
    loaded_at: chrono::DateTime<chrono::Utc>,
    /// Why the newest policy files were refused, if they were: the loaded policy stays.
    rejected: Option<String>,
}

pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process is up and serving HTTP. Touches no dependency.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<Alive> {
        Json(Alive {
            status: "ok".into(),
        })
    }

    /// Readiness: not shutting down, database reachable, migrations current, tenant isolation
    /// intact (RLS enabled and forced everywhere, runtime roles unprivileged), a policy loaded.
    /// 503 lists the failing checks in `details`.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&AppState>) -> ApiResult<Json<Readiness>> {
        let failed = failing_checks(&state).await;
        if !failed.is_empty() {
            return Err(AppError::NotReady(failed).into());
        }
        let policy = state.authz.summary();
        Ok(Json(Readiness {
            status: "ready".into(),
            checks: ["database", "migrations", "isolation", "policy"]
                .map(String::from)
                .to_vec(),
            policy: PolicyStatus {
                hash: policy.hash,
                loaded_at: policy.loaded_at,
                rejected: state.authz.last_error(),
            },
        }))
    }
}

async fn failing_checks(state: &AppState) -> Vec<FieldError> {
    if state.is_shutting_down() {
        return vec![FieldError::new("shutdown", "the server is shutting down")];
    }
    if let Err(err) = state.db.ping(PING_WITHIN).await {
        return vec![FieldError::new("database", describe(err))];
    }
    let mut failed = Vec::new();
    match posture::migration_drift(&state.db).await {
        Ok(drift) if drift.is_empty() => {}
        Ok(drift) => failed.push(FieldError::new("migrations", drift.join("; "))),
        Err(err) => failed.push(FieldError::new("migrations", describe(err))),
    }
    match posture::inspect(&state.db, state.settings.profile).await {
        Ok(p) if p.is_secure() => {}
        Ok(p) => failed.push(FieldError::new("isolation", p.problems.join("; "))),
        Err(err) => failed.push(FieldError::new("isolation", describe(err))),
    }
    failed
}

/// A probe's detail: the failure kind, not internals such as connection strings.
fn describe(err: AppError) -> String {
    match err {
        AppError::Unavailable(_) => "unreachable".into(),
        other => {
            tracing::warn!(error = format!("{other:#}"), "readiness check failed");
            "check failed (see the server log)".into()
        }
    }
}
