//! The authorization policy as the platform sees it: what is in force, and reloading it on
//! every replica, audited either way (once, by the replica that reloaded: the others reload on
//! its notice without auditing).

use crate::{
    authz::{Authorizer, PolicySummary, Reach, Reloaded, reload},
    error::{AppError, FieldError},
    scope::{Grant, RequestScope},
    service::audit,
    state::AppState,
};

/// What is in force, and why the newest files were refused, if they were. Platform only.
pub fn in_force(
    authz: &Authorizer,
    grant: &Grant,
) -> Result<(PolicySummary, Option<String>), AppError> {
    platform_only(grant.reach())?;
    Ok((authz.summary(), authz.last_error()))
}

/// Re-reads the policy folder here (before any transaction opens: reloads queue one at a
/// time), then announces a good policy to every replica and audits the outcome either way,
/// with the rules it added and removed; a refused policy is a 422 with the reasons.
pub async fn reload(state: &AppState, grant: &Grant) -> Result<Reloaded, AppError> {
    platform_only(grant.reach())?;
    crate::service::mfa::require_step_up(state, grant.caller()).await?;
    let outcome = state.authz.reload().await;
    let scope = state.open(grant).await?;
    announce_and_audit(&scope, &outcome).await?;
    scope.commit().await?;
    outcome.map_err(|reasons| {
        let fields = reasons.into_iter().map(|r| FieldError::new("policy", r));
        AppError::Validation(fields.collect())
    })
}

async fn announce_and_audit(
    scope: &RequestScope,
    outcome: &Result<Reloaded, Vec<String>>,
) -> Result<(), AppError> {
    let (action, changes) = match outcome {
        Ok(done) => (
            "policy.reloaded",
            serde_json::json!({
                "hash": done.summary.hash,
                "previous_hash": done.previous_hash,
                "added": done.diff.added,
                "removed": done.diff.removed,
            }),
        ),
        Err(reasons) => ("policy.rejected", serde_json::json!({"reasons": reasons})),
    };
    if let Ok(done) = outcome {
        reload::announce(scope.tx(), &done.summary.hash).await?;
    }
    let event = audit::Event {
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "policy",
        changes: Some(changes),
        ..audit::Event::default()
    };
    audit::record_in(scope, event).await
}

fn platform_only(reach: Reach) -> Result<(), AppError> {
    if reach == Reach::Any {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
