//! Is the process alive, and may it take traffic? `/healthz` and `/readyz`.

use std::time::{Duration, Instant};

use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    error::{ApiError, ApiResult, set},
};
use crate::{
    error::{AppError, FieldError},
    state::AppState,
    tenancy::posture,
};

const PING_WITHIN: Duration = Duration::from_secs(2);
const CHECKS_FRESH_FOR: Duration = Duration::from_secs(1);
const CHECKS_WITHIN: Duration = Duration::from_secs(3);

#[derive(Object)]
struct Alive {
    status: String,
}

#[derive(Object)]
struct ReadyStatus {
    status: String,
}

/// The detailed readiness report of the operators' listener.
#[derive(serde::Serialize)]
struct Readiness {
    status: &'static str,
    /// The checks that passed.
    checks: [&'static str; 4],
    /// The authorization policy in force.
    policy: PolicyStatus,
}

#[derive(serde::Serialize)]
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
    async fn healthz(&self) -> ApiResult<Json<Alive>, set::Probe> {
        Ok(Json(Alive {
            status: "ok".into(),
        }))
    }

    /// Readiness: not shutting down, database reachable, migrations current, tenant isolation
    /// intact, a policy loaded. Status only: the failing checks are reported on the operators'
    /// listener (`http.ops_listen`).
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&AppState>) -> ApiResult<Json<ReadyStatus>, set::Readiness> {
        if !failing_checks(&state).await.is_empty() {
            return Err(AppError::Unavailable("not ready".into()).into());
        }
        Ok(Json(ReadyStatus {
            status: "ready".into(),
        }))
    }
}

/// `/readyz` on the operators' listener: 503 lists the failing checks in `details`.
#[poem::handler]
pub async fn readiness_report(state: Data<&AppState>) -> poem::Response {
    use poem::IntoResponse;
    let failed = failing_checks(&state).await;
    if !failed.is_empty() {
        return ApiError::from(AppError::NotReady(failed)).into_response();
    }
    let policy = state.authz.summary();
    poem::web::Json(Readiness {
        status: "ready",
        checks: ["database", "migrations", "isolation", "policy"],
        policy: PolicyStatus {
            hash: policy.hash,
            loaded_at: policy.loaded_at,
            rejected: state.authz.last_error(),
        },
    })
    .into_response()
}

/// The checks that fail now. Shutdown is seen at once; the database checks are computed by one
/// caller at a time and reused for [`CHECKS_FRESH_FOR`], so a flood of probes costs the pool a
/// handful of queries a second.
async fn failing_checks(state: &AppState) -> Vec<FieldError> {
    if state.is_shutting_down() {
        return vec![FieldError::new("shutdown", "the server is shutting down")];
    }
    let mut cached = state.readiness.lock().await;
    if let Some((at, failed)) = cached.as_ref()
        && at.elapsed() < CHECKS_FRESH_FOR
    {
        return failed.clone();
    }
    // every check is bounded, so a silent database cannot hold every probe behind this lock
    let failed = tokio::time::timeout(CHECKS_WITHIN, database_checks(state))
        .await
        .unwrap_or_else(|_| vec![FieldError::new("database", "did not answer in time")]);
    *cached = Some((Instant::now(), failed.clone()));
    failed
}

async fn database_checks(state: &AppState) -> Vec<FieldError> {
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
