//! Hot reload: when the files change (including a Kubernetes ConfigMap's symlink swap), on SIGHUP,
//! and when another replica announces a reload through `NOTIFY`.

use std::{path::Path, sync::Arc, time::Duration};

use notify::{RecursiveMode, Watcher};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::{sync::mpsc, task::JoinHandle};

use super::Authorizer;
use crate::{error::AppError, tenancy::TenantTx};

pub const CHANNEL: &str = "dealergate_policies";
/// Editors and ConfigMap updates touch several files in a burst: reload once it settles.
const SETTLE: Duration = Duration::from_millis(200);

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
pub fn watch(dir: &Path, authz: Arc<Authorizer>) -> anyhow::Result<JoinHandle<()>> {
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
            let _ = authz.reload().await;
        }
    }))
}

/// Reloads on every SIGHUP.
pub fn on_hangup(authz: Arc<Authorizer>) -> JoinHandle<()> {
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
                let _ = authz.reload().await;
            }
        }
        #[cfg(not(unix))]
        drop(authz);
    })
}
