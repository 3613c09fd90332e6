//! Hot reload: when the files change (including a Kubernetes ConfigMap's symlink swap), on SIGHUP,
//! and when another replica announces a reload through `NOTIFY`.

use std::{path::Path, sync::Arc, time::Duration};

use notify::{RecursiveMode, Watcher};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement};
use tokio::{sync::mpsc, task::JoinHandle};

use super::{Authorizer, CustomRole, Permission, Reloaded};
use crate::{
    entity::custom_role,
    error::AppError,
    tenancy::{Database, Scope, TenantTx},
};

pub const CHANNEL: &str = "dealergate_policies";
/// The payload the `custom_roles` trigger sends on [`CHANNEL`] (migration 000013): a custom
/// role changed, the files did not. Any other payload is a file reload's hash.
pub const ROLES: &str = "custom_roles";
/// Editors and ConfigMap updates touch several files in a burst: reload once it settles.
const SETTLE: Duration = Duration::from_millis(200);

/// What made this replica read its policy files: the audit log's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Startup,
    /// The watcher saw the folder change (an edit, a ConfigMap update).
    FileChange,
    Sighup,
    /// `POST /admin/policies/reload` (audited by its own request, with its admin).
    Api,
    /// The replica (re)connected its listener and re-read what it may have missed.
    Reconnect,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::FileChange => "file_change",
            Self::Sighup => "sighup",
            Self::Api => "api",
            Self::Reconnect => "reconnect",
        }
    }
}

/// One read of the files by this replica and what came of it, for the audit log
/// (`service::policies::record_loads` writes it; authz imports no service).
#[derive(Debug)]
pub struct Load {
    pub source: Source,
    pub outcome: Result<Reloaded, Vec<String>>,
}

/// Where reloads not made by a request are reported.
pub type Loads = mpsc::UnboundedSender<Load>;

/// Reloads and reports the outcome (a closed report channel loses the report, never the reload).
pub async fn reload_from(authz: &Authorizer, source: Source, loads: &Loads) {
    let outcome = authz.reload().await;
    let _ = loads.send(Load { source, outcome });
}

/// Asks every replica to reload when `tx` commits.
pub async fn announce(tx: &TenantTx, hash: &str) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), hash.into()],
    ))
    .await?;
    Ok(())
}

/// Watches the policy folder itself (not the files: a ConfigMap update replaces them by
/// swapping a `..data` symlink) and reloads after each burst of changes.
pub fn watch(dir: &Path, authz: Arc<Authorizer>, loads: Loads) -> anyhow::Result<JoinHandle<()>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(tokio::spawn(async move {
        let _watcher = watcher; // dropped (unwatched) with the task
        while rx.recv().await.is_some() {
            tokio::time::sleep(SETTLE).await;
            while rx.try_recv().is_ok() {}
            reload_from(&authz, Source::FileChange, &loads).await;
        }
    }))
}

/// Reloads on every SIGHUP.
pub fn on_hangup(authz: Arc<Authorizer>, loads: Loads) -> JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP");
                return;
            };
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the policy");
                reload_from(&authz, Source::Sighup, &loads).await;
            }
        }
        #[cfg(not(unix))]
        drop((authz, loads));
    })
}

/// Reads every dealership's custom roles (platform scope) and merges them into the policy in
/// force. A failure leaves the roles in force as they were, and says so.
pub async fn refresh_roles(authz: &Authorizer, db: &Database) -> Result<(), AppError> {
    let read = async {
        let tx = db.begin_reading(Scope::Platform).await?;
        // in a stable order, so the same roles compare equal and change nothing
        let rows = custom_role::Entity::find()
            .order_by_asc(custom_role::Column::Id)
            .all(&tx)
            .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(parsed).collect())
    };
    authz.refresh_roles(read).await.inspect_err(|err| {
        tracing::warn!(%err, "cannot load the custom roles; the ones in force stay");
    })
}

/// A stored role as the enforcer takes it; a permission the code does not know is dropped
/// (and logged), never widened.
fn parsed(row: custom_role::Model) -> CustomRole {
    let permissions = row
        .permissions
        .iter()
        .filter_map(|text| {
            let parsed = Permission::parse(text).filter(|p| p.fits_a_dealership());
            if parsed.is_none() {
                tracing::warn!(role = %row.id, permission = %text, "custom role permission ignored");
            }
            parsed
        })
        .collect();
    CustomRole {
        id: row.id,
        dealership_id: row.dealership_id,
        name: row.name,
        base: row.base_role,
        permissions,
    }
}
