//! The authorization policy as the platform sees it: what is in force, and reloading it on
//! every replica, audited either way. A request's reload is audited once, by the replica that
//! reloaded, with its admin (the others reload on its notice without auditing). A load of
//! each replica's own — start-up, its watcher, SIGHUP, a reconnect — is audited by that
//! replica (each replica's load is a fact of its own: which replica runs which policy), with
//! the replica's name where the environment gives one (`HOSTNAME`, a pod's name).

use tokio::{sync::mpsc::UnboundedReceiver, task::JoinHandle};

use crate::{
    authz::{
        Authorizer, PolicySummary, Reach, Reloaded,
        reload::{self, Load, Source},
    },
    error::{AppError, FieldError},
    scope::{Grant, RequestMeta, RequestScope},
    service::audit,
    state::AppState,
    tenancy::{Database, Scope},
};

/// The audit event lists at most this many added and as many removed rules (with the counts).
pub const DIFF_SHOWN: usize = 200;

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
    if let Ok(done) = outcome {
        reload::announce(scope.tx(), &done.summary.hash).await?;
    }
    let event = audit::Event {
        actor_id: Some(scope.principal().user_id),
        ..event_of(Source::Api, outcome, None)
    };
    audit::record_in(scope, event).await
}

/// The platform event (no dealership) for one load: `policy.loaded` at start-up,
/// `policy.reloaded` after, `policy.rejected` for files refused; with the source, the hash
/// before and after, and the rules added and removed (the first [`DIFF_SHOWN`] of each).
fn event_of(
    source: Source,
    outcome: &Result<Reloaded, Vec<String>>,
    replica: Option<&str>,
) -> audit::Event {
    let (action, changes) = match outcome {
        Ok(done) => {
            let shown =
                |rules: &[String]| rules.iter().take(DIFF_SHOWN).cloned().collect::<Vec<_>>();
            let previous = Some(&done.previous_hash).filter(|h| !h.is_empty());
            let action = if source == Source::Startup {
                "policy.loaded"
            } else {
                "policy.reloaded"
            };
            (
                action,
                serde_json::json!({
                    "source": source.as_str(),
                    "hash": done.summary.hash,
                    "previous_hash": previous,
                    "changed": previous != Some(&done.summary.hash),
                    "rules": done.summary.rows.len(),
                    "added": shown(&done.diff.added),
                    "removed": shown(&done.diff.removed),
                    "added_count": done.diff.added.len(),
                    "removed_count": done.diff.removed.len(),
                }),
            )
        }
        Err(reasons) => (
            "policy.rejected",
            serde_json::json!({
                "source": source.as_str(), "reasons": reasons,
            }),
        ),
    };
    let mut changes = changes;
    if let Some(replica) = replica {
        changes["replica"] = replica.into();
    }
    audit::Event {
        action,
        target_type: "policy",
        changes: Some(changes),
        ..audit::Event::default()
    }
}

/// Whether a replica's own load is worth an event: start-up and SIGHUP (someone asked) always;
/// the watcher and a reconnect when the files changed what is in force, or were refused.
fn worth_recording(load: &Load) -> bool {
    match (&load.source, &load.outcome) {
        (Source::Startup | Source::Sighup, _) | (_, Err(_)) => true,
        (_, Ok(done)) => !done.diff.is_empty() || done.previous_hash != done.summary.hash,
    }
}

/// Audits this replica's own loads as they are reported, each in its own platform
/// transaction; a failure is logged (the load stands either way).
pub fn record_loads(db: Database, mut loads: UnboundedReceiver<Load>) -> JoinHandle<()> {
    let replica = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    tokio::spawn(async move {
        while let Some(load) = loads.recv().await {
            if !worth_recording(&load) {
                continue;
            }
            let event = event_of(load.source, &load.outcome, replica.as_deref());
            let recorded = async {
                let tx = db.begin(Scope::Platform).await?;
                audit::record(&tx, &RequestMeta::default(), event).await?;
                tx.commit().await
            };
            if let Err(err) = recorded.await {
                tracing::warn!(%err, source = load.source.as_str(), "cannot audit a policy load");
            }
        }
    })
}

fn platform_only(reach: Reach) -> Result<(), AppError> {
    if reach == Reach::Any {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
