//! May you? Typed questions — (role, resource, action, scope) — to the Casbin policy in
//! `policies/`, answered from a decision cache that is dropped whenever the policy reloads.

mod coverage;
pub mod custom;
mod policy;
pub mod reload;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use chrono::{DateTime, Utc};

pub use coverage::check_dir;
pub use custom::{CustomRole, Permission, Subject};
pub use policy::Policy;

use crate::error::AppError;

/// What is acted on. Every variant must appear in the policy, and the policy may name no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Users,
    Dealerships,
    Sessions,
    AuditEvents,
    Policies,
    Invitations,
    /// A dealership's custom roles.
    Roles,
    /// Dealer groups and who holds a group role in them.
    DealerGroups,
    /// The OpenID clients registered to sign people in (a platform registry).
    OauthClients,
    /// Machine identities of a dealership, a group or the platform, and their API keys.
    ServiceAccounts,
    /// Signed webhook endpoints, their outbox and delivery log (a dealership's; the
    /// platform's for admins).
    Webhooks,
    /// Who has access, with what (the access review and MFA coverage), and the record that a
    /// review was done.
    AccessReview,
}

impl Resource {
    /// Whether a service account may `action` this resource at all, whatever its role: it
    /// reads what its role may, but changes only the directory and the tenants' own records.
    /// Anything else (service accounts, invitations, the platform's controls, and every
    /// resource added later unless listed here) is changed by people only.
    pub fn open_to_machines(self, action: Action) -> bool {
        matches!(action, Action::List | Action::Read)
            || matches!(
                self,
                Resource::Users | Resource::Dealerships | Resource::Sessions | Resource::Roles
            )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    List,
    Read,
    Create,
    Update,
    Delete,
}

/// The target's relation to the caller, narrowest first: a grant at a wider scope covers the
/// narrower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    /// The caller's own record.
    Own,
    /// Anything in the caller's dealership.
    Dealership,
    /// Anything in every dealership of the caller's dealer group (group roles only).
    Group,
    /// Anything anywhere (platform).
    Any,
}

macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),+ }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(<$ty>::$variant),)+ _ => None }
            }
        }
    };
}

names!(Resource { Users => "users", Dealerships => "dealerships", Sessions => "sessions", AuditEvents => "audit_events", Policies => "policies", Invitations => "invitations", Roles => "roles", DealerGroups => "dealer_groups", OauthClients => "oauth_clients", ServiceAccounts => "service_accounts", Webhooks => "webhooks", AccessReview => "access_review" });
names!(Action { List => "list", Read => "read", Create => "create", Update => "update", Delete => "delete" });
names!(Reach { Own => "self", Dealership => "dealership", Group => "group", Any => "any" });

/// What `GET /admin/policies` shows of the policy in force.
#[derive(Debug, Clone)]
pub struct PolicySummary {
    pub rows: Vec<Vec<String>>,
    /// The custom roles in force, every dealership's.
    pub roles: Arc<Vec<CustomRole>>,
    pub hash: String,
    pub loaded_at: DateTime<Utc>,
}

/// What a reload changed in the file policy's rules (`p` and `g` lines), each as written in
/// `policy.csv` (`p, agent, users, read, self`), in the order of the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyDiff {
    /// In force now, not before.
    pub added: Vec<String>,
    /// In force before, not now.
    pub removed: Vec<String>,
}

impl PolicyDiff {
    /// The rules of `after` missing from `before`, and those of `before` missing from `after`.
    pub fn between(before: &[Vec<String>], after: &[Vec<String>]) -> Self {
        let line = |row: &Vec<String>| row.join(", ");
        let before: Vec<String> = before.iter().map(line).collect();
        let after: Vec<String> = after.iter().map(line).collect();
        let missing_from = |rows: &[String], of: &[String]| {
            let present: std::collections::HashSet<&String> = rows.iter().collect();
            let mut seen = std::collections::HashSet::new();
            of.iter()
                .filter(|r| !present.contains(r) && seen.insert(*r))
                .cloned()
                .collect::<Vec<_>>()
        };
        Self {
            added: missing_from(&before, &after),
            removed: missing_from(&after, &before),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// A reload that put a policy in force: what is in force now, and what changed from the policy
/// in force just before it (read under the same lock, so no other reload came between).
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub summary: PolicySummary,
    /// The hash of the policy it replaced.
    pub previous_hash: String,
    pub diff: PolicyDiff,
}

pub(crate) type Decision = (Subject, Resource, Action, Reach);

pub struct Authorizer {
    dir: PathBuf,
    current: RwLock<Arc<Policy>>,
    /// One reload at a time, so a slow one cannot swap older files in after a newer one.
    reloading: tokio::sync::Mutex<()>,
    /// Why the last reload was refused, until one succeeds.
    last_error: RwLock<Option<String>>,
    /// How many decisions each policy caches.
    decisions: u64,
}

impl Authorizer {
    /// Loads and checks the policy in `dir`; a broken policy stops start-up. Each policy
    /// caches up to `decisions` decisions.
    pub async fn load(dir: &Path, decisions: u64) -> Result<Self, Vec<String>> {
        let policy = Policy::load(dir).await?.bounded(decisions);
        crate::metrics::metrics().policy_loaded(&policy.hash);
        Ok(Self {
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(policy)),
            reloading: tokio::sync::Mutex::new(()),
            last_error: RwLock::new(None),
            decisions,
        })
    }

    fn policy(&self) -> Arc<Policy> {
        // a poisoned lock still holds a valid Arc: the swap is a single assignment
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `subject` may do `action` on `resource` at `reach`. Decisions are cached with
    /// the policy that made them, so a reload (a new policy) starts from an empty cache and no
    /// decision of the old one can outlive it.
    pub fn allows(
        &self,
        subject: Subject,
        resource: Resource,
        action: Action,
        reach: Reach,
    ) -> bool {
        let policy = self.policy();
        let key = (subject, resource, action, reach);
        let cache = &crate::metrics::metrics().authz_cache;
        if let Some(decision) = policy.decisions.get(&key) {
            cache.with_label_values(&["hit"]).inc();
            return decision;
        }
        cache.with_label_values(&["miss"]).inc();
        let decision = policy.decide(subject, resource, action, reach);
        policy.decisions.insert(key, decision);
        decision
    }

    /// The widest reach at which `subject` may do `action` on `resource`; 403 if none. Asked
    /// first, before touching any data (through `state.begin`), and then acted within.
    pub fn grant(
        &self,
        subject: Subject,
        resource: Resource,
        action: Action,
    ) -> Result<Reach, AppError> {
        [Reach::Any, Reach::Group, Reach::Dealership, Reach::Own]
            .into_iter()
            .find(|reach| self.allows(subject, resource, action, *reach))
            .ok_or(AppError::Forbidden)
    }

    /// Re-reads the policy folder; swaps it in only if it parses and its `tests.csv` passes.
    /// The custom roles in force stay merged in. A policy put in force comes with the rules it
    /// added and removed.
    pub async fn reload(&self) -> Result<Reloaded, Vec<String>> {
        let _one_at_a_time = self.reloading.lock().await;
        let before = self.policy();
        let loaded = match Policy::load(&self.dir).await {
            Ok(files) => files
                .bounded(self.decisions)
                .with_roles(before.roles.to_vec())
                .await
                .map_err(|e| vec![e]),
            Err(reasons) => Err(reasons),
        };
        match loaded {
            Ok(policy) => {
                let changed = policy.hash != before.hash;
                let diff = PolicyDiff::between(&before.rows, &policy.rows);
                let metrics = crate::metrics::metrics();
                metrics.policy_reloads.with_label_values(&["ok"]).inc();
                metrics.policy_loaded(&policy.hash);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
                *self.last_error.write().unwrap_or_else(|e| e.into_inner()) = None;
                let summary = self.summary();
                tracing::info!(
                    hash = %summary.hash,
                    changed,
                    added = diff.added.len(),
                    removed = diff.removed.len(),
                    "policy loaded"
                );
                Ok(Reloaded {
                    summary,
                    previous_hash: before.hash.clone(),
                    diff,
                })
            }
            Err(reasons) => {
                crate::metrics::metrics()
                    .policy_reloads
                    .with_label_values(&["failed"])
                    .inc();
                tracing::error!(
                    reasons = reasons.join("; "),
                    "policy rejected; the previous policy stays in force"
                );
                *self.last_error.write().unwrap_or_else(|e| e.into_inner()) =
                    Some(reasons.join("; "));
                Err(reasons)
            }
        }
    }

    /// Swaps in the custom roles `read` finds (every dealership's, as the database holds them
    /// now) next to the file policy in force. The read runs under the reload lock, so two
    /// refreshes cannot swap an older read in after a newer one. A failure leaves the roles in
    /// force as they were; the same roles again change nothing.
    pub async fn refresh_roles(
        &self,
        read: impl Future<Output = Result<Vec<CustomRole>, AppError>>,
    ) -> Result<(), AppError> {
        let _one_at_a_time = self.reloading.lock().await;
        let roles = read.await?;
        if *self.policy().roles == roles {
            // nothing changed (a reconnect, another replica's no-op): keep the decisions
            return Ok(());
        }
        let policy = self
            .policy()
            .with_roles(roles)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
        let count = policy.roles.len();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
        tracing::debug!(custom_roles = count, "custom roles loaded");
        Ok(())
    }

    pub fn summary(&self) -> PolicySummary {
        let policy = self.policy();
        PolicySummary {
            rows: policy.rows.clone(),
            roles: policy.roles.clone(),
            hash: policy.hash.clone(),
            loaded_at: policy.loaded_at,
        }
    }

    /// Why the newest files on disk were refused, if they were.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::PolicyDiff;

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split(',').map(|f| f.trim().to_owned()).collect())
            .collect()
    }

    #[test]
    fn a_diff_names_the_rules_added_and_removed_once_each_in_file_order() {
        let before =
            rows("p, agent, users, read, self\ng, manager, agent\np, agent, users, read, self");
        let after = rows(
            "g, manager, agent\np, agent, users, list, dealership\np, agent, users, list, dealership",
        );
        let diff = PolicyDiff::between(&before, &after);
        assert_eq!(diff.added, ["p, agent, users, list, dealership"]);
        assert_eq!(diff.removed, ["p, agent, users, read, self"]);
        assert!(PolicyDiff::between(&before, &before).is_empty());
    }
}
