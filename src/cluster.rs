//! What the other replicas say: one `LISTEN` connection for revocations, policy reloads and
//! queued mail (which wakes the mail sender), reconnecting after any failure (a database
//! restart, a killed backend, a cut or silent network). While it is down, the session cache is not trusted (`set_listening(false)`).

use std::{sync::Arc, time::Duration};

use std::str::FromStr;

use sea_orm::sqlx::{
    self,
    postgres::{PgConnectOptions, PgListener, PgPoolOptions},
};
use tokio::{sync::Notify, task::JoinHandle, time::timeout};

use crate::{
    auth::sessions::{self, Revoked, SessionCache},
    authz::{Authorizer, reload},
    mail::outbox,
    tenancy::{Database, split_password},
    webhooks,
};

const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);
/// A connect (and subscribe) or a heartbeat that takes longer has failed: a database that
/// accepts and then says nothing must not hold the listener, or the cache's trust, for long.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
/// After this long without a notice, ask the connection whether it is still there: a silent
/// network does not close the socket, so without asking we would never know.
const HEARTBEAT_AFTER: Duration = Duration::from_secs(3);

/// The background workers a notice wakes: the mail sender and the webhook sender.
pub struct Wake {
    pub mail: Arc<Notify>,
    pub webhooks: Arc<Notify>,
}

/// `listen_url` is `database.listen_url()`: a direct session, never a transaction pooler, which
/// would subscribe one server connection for one transaction and lose every notice after it.
pub fn spawn_listener(
    listen_url: String,
    sessions: SessionCache,
    authz: Arc<Authorizer>,
    db: Database,
    wake: Wake,
    loads: reload::Loads,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match timeout(ANSWER_WITHIN, connect(&listen_url)).await {
                Ok(Ok(mut listener)) => {
                    // notices may have been missed while disconnected
                    sessions.set_listening(true);
                    reload::reload_from(&authz, reload::Source::Reconnect, &loads).await;
                    if reload::refresh_roles(&authz, &db).await.is_err() {
                        // custom roles changed while not listening may be missed: try again
                        // from the start rather than listen with stale ones
                        sessions.set_listening(false);
                        tokio::time::sleep(RECONNECT_BACKOFF).await;
                        continue;
                    }
                    tracing::info!("listening for revocations and policy reloads");
                    // and for mail and events queued while this replica was not listening
                    wake.mail.notify_one();
                    wake.webhooks.notify_one();
                    let heard = Heard {
                        sessions: &sessions,
                        authz: &authz,
                        db: &db,
                        wake: &wake,
                    };
                    receive(&mut listener, heard).await;
                }
                Ok(Err(err)) => tracing::warn!(%err, "cannot LISTEN for cluster notices"),
                Err(_) => tracing::warn!("cannot LISTEN for cluster notices: no answer in time"),
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
        .acquire_timeout(ANSWER_WITHIN)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // a lost connection is reported at once (and the cache distrusted) instead of being
    // reconnected inside `try_recv` while notices go missing
    listener.eager_reconnect(false);
    listener
        .listen_all([
            sessions::CHANNEL,
            reload::CHANNEL,
            outbox::CHANNEL,
            webhooks::CHANNEL,
        ])
        .await?;
    Ok(listener)
}

/// What the notices act on.
struct Heard<'a> {
    sessions: &'a SessionCache,
    authz: &'a Authorizer,
    db: &'a Database,
    wake: &'a Wake,
}

async fn receive(listener: &mut PgListener, heard: Heard<'_>) {
    let Heard {
        sessions,
        authz,
        db,
        wake,
    } = heard;
    loop {
        // `try_recv` is cancel-safe: a timeout loses no notice
        let Ok(received) = timeout(HEARTBEAT_AFTER, listener.try_recv()).await else {
            match timeout(
                ANSWER_WITHIN,
                sqlx::query("SELECT 1").execute(&mut *listener),
            )
            .await
            {
                Ok(Ok(_)) => continue,
                Ok(Err(err)) => tracing::warn!(%err, "cluster listener's heartbeat failed"),
                Err(_) => tracing::warn!("cluster listener's connection went silent"),
            }
            return;
        };
        match received {
            Ok(Some(notice)) if notice.channel() == reload::CHANNEL => {
                if notice.payload() == reload::ROLES {
                    let _ = reload::refresh_roles(authz, db).await;
                } else if notice.payload() != authz.summary().hash {
                    // a replica holding the announced policy already (the one that reloaded
                    // it, say) reads nothing: a later edit of its files is its watcher's
                    let _ = authz.reload().await;
                }
            }
            Ok(Some(notice)) if notice.channel() == outbox::CHANNEL => wake.mail.notify_one(),
            Ok(Some(notice)) if notice.channel() == webhooks::CHANNEL => wake.webhooks.notify_one(),
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
