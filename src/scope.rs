//! What this request may touch: the caller, the reach the policy granted, and the tenant
//! transaction opened for exactly that reach. `state.begin(&me, Resource, Action)` is the only
//! way to get one, so a service taking `&RequestScope` cannot run with a scope nobody granted.
//!
//! Revocations are recorded on the scope by the service that causes them: published with the
//! transaction (NOTIFY is delivered on commit, never on rollback) and dropped from this
//! replica's cache by [`RequestScope::commit`], so a handler cannot forget one. A changed user
//! row is recorded the same way ([`RequestScope::profile_changed`]) so this replica shows the
//! change at once; the `users` trigger tells every replica on its own.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use uuid::Uuid;

use crate::{
    auth::{
        mfa,
        principal::Principal,
        service_accounts::ServiceActor,
        sessions::{self, Revoked, SessionCache},
    },
    authz::{Action, Authorizer, Permission, Reach, Resource, Subject, reload},
    error::AppError,
    state::AppState,
    tenancy::{Database, Scope, TenantTx},
};

/// Where a request came from, as sessions and audit events record it.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The service account making the request, if a machine is: audit events record it and
    /// its creator beside the actor.
    pub service_account: Option<ServiceActor>,
}

/// The authenticated caller and where their request came from (what `BearerAuth` yields).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// A decision of the policy for one caller, before any transaction: what a service that must
/// wait between its reads and writes (hashing a password) holds instead of a [`RequestScope`],
/// so no pooled connection idles while it waits. Made only by [`AppState::grant`].
#[derive(Debug, Clone)]
pub struct Grant {
    caller: Caller,
    reach: Reach,
    action: Action,
}

impl Grant {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// The transaction scope for acting within the reach: platform for `any`, the caller's own
    /// (their dealership or their group) otherwise.
    fn tenant(&self) -> Scope {
        match self.reach {
            Reach::Any => Scope::Platform,
            Reach::Group | Reach::Dealership | Reach::Own => self.caller.scope(),
        }
    }
}

/// A granted reach and its open tenant transaction. Dropped without
/// [`commit`](Self::commit), it rolls back and applies nothing.
pub struct RequestScope {
    tx: TenantTx,
    grant: Grant,
    authz: Arc<Authorizer>,
    db: Database,
    sessions: SessionCache,
    revoked: Mutex<Vec<Revoked>>,
    roles_changed: AtomicBool,
    step_up_max_age_secs: u64,
}

impl RequestScope {
    pub fn tx(&self) -> &TenantTx {
        &self.tx
    }

    pub fn principal(&self) -> &Principal {
        &self.grant.caller.principal
    }

    pub fn meta(&self) -> &RequestMeta {
        &self.grant.caller.meta
    }

    pub fn reach(&self) -> Reach {
        self.grant.reach
    }

    /// 403 unless the caller holds every one of `permissions` themselves, each at its scope:
    /// nobody defines, widens or hands out a role with more than they may do.
    pub fn holds(&self, permissions: &[Permission]) -> Result<(), AppError> {
        let subject = subject_of(self.principal());
        let held = |p: &Permission| self.authz.allows(subject, p.resource, p.action, p.reach);
        match permissions.iter().find(|p| !held(p)) {
            None => Ok(()),
            Some(missing) => {
                tracing::debug!(permission = %missing.stored(), "not held by the caller");
                Err(AppError::Forbidden)
            }
        }
    }

    /// 403 `step_up_required` before a sensitive change, unless the caller proved a second
    /// factor within `auth.mfa.step_up_max_age_secs` or has none.
    pub async fn require_step_up(&self) -> Result<(), AppError> {
        mfa::require_step_up(self.tx(), self.principal(), self.step_up_max_age_secs).await
    }

    /// Announces `what` to every replica when the transaction commits, and drops it from this
    /// replica's cache at [`commit`](Self::commit).
    pub async fn revoke(&self, what: Revoked) -> Result<(), AppError> {
        sessions::publish(self.tx(), what).await?;
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(what);
        Ok(())
    }

    /// User `id`'s row changes in this transaction: their cached profile leaves this replica's
    /// cache at [`commit`](Self::commit). Nothing to publish: the `users` trigger sends
    /// [`Revoked::Profile`] with the commit, and this replica's own listener would see it only a
    /// few milliseconds after the answer.
    pub fn profile_changed(&self, id: Uuid) {
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Revoked::Profile(id));
    }

    /// A custom role changes in this transaction: this replica's policy takes the new roles
    /// at [`commit`](Self::commit); the `custom_roles` trigger tells every replica on its own.
    pub fn roles_changed(&self) {
        self.roles_changed.store(true, Ordering::Relaxed);
    }

    /// Commits; then what the transaction revoked or changed leaves this replica's cache at
    /// once (the NOTIFY sent with the commit does the same on every replica, this one included).
    pub async fn commit(self) -> Result<(), AppError> {
        let RequestScope {
            tx,
            sessions,
            revoked,
            authz,
            db,
            roles_changed,
            ..
        } = self;
        tx.commit().await?;
        for what in revoked.into_inner().unwrap_or_else(|e| e.into_inner()) {
            sessions.apply(what).await;
        }
        if roles_changed.into_inner() {
            // failures are logged; the trigger's notice tries again
            let _ = reload::refresh_roles(&authz, &db).await;
        }
        Ok(())
    }
}

/// Whom the policy is asked about: the caller's custom role if they hold one (it inherits
/// their base role), their role otherwise.
fn subject_of(me: &Principal) -> Subject {
    me.custom_role
        .map_or(Subject::Role(me.role), Subject::Custom)
}

impl AppState {
    /// The widest reach at which the caller may do `action` on `resource`; 403 if none.
    pub fn grant(
        &self,
        me: &Caller,
        resource: Resource,
        action: Action,
    ) -> Result<Grant, AppError> {
        if me.service_account.is_some() && !resource.open_to_machines(action) {
            return Err(AppError::NotForMachines(
                "do this: service accounts, invitations and the platform's controls are \
                 changed by people",
            ));
        }
        let reach = me.confine(self.authz.grant(subject_of(me), resource, action)?);
        Ok(Grant {
            caller: me.clone(),
            reach,
            action,
        })
    }

    /// Acting on one's own record: granted at `self` (or wider), and confined to it.
    pub fn grant_own(
        &self,
        me: &Caller,
        resource: Resource,
        action: Action,
    ) -> Result<Grant, AppError> {
        let granted = self.grant(me, resource, action)?;
        Ok(Grant {
            reach: Reach::Own,
            ..granted
        })
    }

    /// Opens the tenant transaction of `grant`; one for listing or reading only reads.
    pub async fn open(&self, grant: &Grant) -> Result<RequestScope, AppError> {
        let tx = match grant.action {
            Action::List | Action::Read => self.db.begin_reading(grant.tenant()).await?,
            Action::Create | Action::Update | Action::Delete => {
                self.db.begin(grant.tenant()).await?
            }
        };
        Ok(RequestScope {
            tx,
            grant: grant.clone(),
            authz: self.authz.clone(),
            db: self.db.clone(),
            sessions: self.auth.sessions.clone(),
            revoked: Mutex::new(Vec::new()),
            roles_changed: AtomicBool::new(false),
            step_up_max_age_secs: self.settings.auth.mfa.step_up_max_age_secs,
        })
    }

    /// Asks the policy, then opens the transaction for exactly the granted reach.
    pub async fn begin(
        &self,
        me: &Caller,
        resource: Resource,
        action: Action,
    ) -> Result<RequestScope, AppError> {
        self.open(&self.grant(me, resource, action)?).await
    }

    /// [`begin`](Self::begin) confined to the caller's own record.
    pub async fn begin_own(
        &self,
        me: &Caller,
        resource: Resource,
        action: Action,
    ) -> Result<RequestScope, AppError> {
        self.open(&self.grant_own(me, resource, action)?).await
    }

    /// The caller's own sessions, whatever the policy says: signing out must always work.
    pub async fn sign_out_scope(&self, me: &Caller) -> Result<RequestScope, AppError> {
        let own = Grant {
            caller: me.clone(),
            reach: Reach::Own,
            action: Action::Delete,
        };
        self.open(&own).await
    }
}
