//! What the other replicas say: one `LISTEN` connection for revocations and policy reloads,
//! reconnecting after any failure (a database restart, a killed backend).

use std::{sync::Arc, time::Duration};

use std::str::FromStr;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::task::JoinHandle;

use crate::{
    auth::revocation::{self, Revoked, SessionCache},
    authz::{Authorizer, reload},
    tenancy::split_password,
};

const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

pub fn spawn_listener(
    database_url: String,
    sessions: SessionCache,
    authz: Arc<Authorizer>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match connect(&database_url).await {
                Ok(mut listener) => {
                    // notices may have been missed while disconnected
                    sessions.set_listening(true);
                    let _ = authz.reload().await;
                    tracing::info!("listening for revocations and policy reloads");
                    receive(&mut listener, &sessions, &authz).await;
                }
                Err(err) => tracing::warn!(%err, "cannot LISTEN for cluster notices"),
            }
            sessions.set_listening(false);
            tokio::time::sleep(RECONNECT_BACKOFF).await;
        }
    })
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let (url, password) = split_password(url);
    let mut options = PgConnectOptions::from_str(&url)?;
    if let Some(password) = password {
        options = options.password(&password);
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener
        .listen_all([revocation::CHANNEL, reload::CHANNEL])
        .await?;
    Ok(listener)
}

async fn receive(listener: &mut PgListener, sessions: &SessionCache, authz: &Authorizer) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) if notice.channel() == reload::CHANNEL => {
                let _ = authz.reload().await;
            }
            Ok(Some(notice)) => match Revoked::parse(notice.payload()) {
                Some(what) => {
                    crate::metrics::metrics()
                        .revocations_received
                        .with_label_values(&[what.kind()])
                        .inc();
                    sessions.apply(what).await
                }
                None => tracing::warn!(payload = notice.payload(), "unknown cluster notice"),
            },
            Ok(None) => {
                tracing::warn!("cluster listener lost its connection");
                return;
            }
            Err(err) => {
                tracing::warn!(%err, "cluster listener failed");
                return;
            }
        }
    }
}
