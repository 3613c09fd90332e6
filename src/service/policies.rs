//! The authorization policy as the platform sees it: what is in force, and reloading it on
//! every replica, audited either way.

use crate::{
    authz::{Authorizer, PolicySummary, Reach, reload},
    error::{AppError, FieldError},
    scope::{Grant, RequestScope},
    service::audit,
};

/// What is in force, and why the newest files were refused, if they were. Platform only.
pub fn in_force(
    authz: &Authorizer,
    grant: &Grant,
) -> Result<(PolicySummary, Option<String>), AppError> {
    platform_only(grant.reach())?;
    Ok((authz.summary(), authz.last_error()))
}

/// Re-reads the policy folder here, announces a good policy to every replica when the scope
/// commits, and audits the outcome. A refused policy is the inner `Err` (422 with the
/// reasons): its audit event is still written, so the scope must commit either way.
pub async fn reload(
    authz: &Authorizer,
    scope: &RequestScope,
) -> Result<Result<PolicySummary, AppError>, AppError> {
    platform_only(scope.reach())?;
    let outcome = authz.reload().await;
    let (action, changes) = match &outcome {
        Ok(summary) => ("policy.reloaded", serde_json::json!({"hash": summary.hash})),
        Err(reasons) => ("policy.rejected", serde_json::json!({"reasons": reasons})),
    };
    if let Ok(summary) = &outcome {
        reload::announce(scope.tx(), &summary.hash).await?;
    }
    let event = audit::Event {
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "policy",
        changes: Some(changes),
        ..audit::Event::default()
    };
    audit::record_in(scope, event).await?;
    Ok(outcome.map_err(|reasons| {
        let fields = reasons.into_iter().map(|r| FieldError::new("policy", r));
        AppError::Validation(fields.collect())
    }))
}

fn platform_only(reach: Reach) -> Result<(), AppError> {
    if reach == Reach::Any {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
