//! Application::build(settings) → a bound, checked server that knows its port.

use anyhow::{Context, bail};
use poem::{
    Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};

use crate::{
    auth::AuthContext,
    authz::{Authorizer, reload},
    cluster, http,
    state::AppState,
    tenancy::{Database, posture},
};

pub struct Application {
    acceptor: TcpAcceptor,
    port: u16,
    state: AppState,
}

impl Application {
    /// Connects, refuses to go on if tenant isolation is not real, and binds the listener.
    pub async fn build(settings: crate::config::Settings) -> anyhow::Result<Self> {
        settings.check_serving()?;
        let db = Database::connect(&settings.database)
            .await
            .context("connecting to the database")?;
        let posture = posture::inspect(&db, settings.profile)
            .await
            .context("checking the database's isolation posture")?;
        for warning in &posture.warnings {
            tracing::warn!("{warning} (accepted in the dev profile only)");
        }
        if !posture.is_secure() {
            bail!("refusing to serve: {}", posture.problems.join("; "));
        }
        let auth = AuthContext::build(&settings.auth).await?;
        let authz = Authorizer::load(&settings.policies.dir)
            .await
            .map_err(|reasons| {
                anyhow::anyhow!(
                    "policy in {} rejected: {}",
                    settings.policies.dir.display(),
                    reasons.join("; ")
                )
            })?;
        let acceptor = TcpListener::bind(settings.listen)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
            .context("the listener has no socket address")?;
        Ok(Self {
            acceptor,
            port,
            state: AppState::new(settings, db, auth, std::sync::Arc::new(authz)),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the pool.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; `/readyz` turns unready the moment it does.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let state = self.state.clone();
        let grace = state.settings.http.shutdown_timeout();
        let delay = state.settings.http.shutdown_delay();
        let stop = async move {
            stop.await;
            state.begin_shutdown();
            tracing::info!(
                delay_secs = delay.as_secs(),
                "shutting down: unready, then draining in-flight requests"
            );
            tokio::time::sleep(delay).await;
        };
        let settings = &self.state.settings;
        let mut background = vec![
            cluster::spawn_listener(
                settings.database.url.expose().clone(),
                self.state.auth.sessions.clone(),
                self.state.authz.clone(),
            ),
            reload::on_hangup(self.state.authz.clone()),
        ];
        if settings.policies.watch {
            background.push(reload::watch(
                &settings.policies.dir,
                self.state.authz.clone(),
            )?);
        }
        tracing::info!(port = self.port, "listening");
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(http::app(self.state.clone()), stop, Some(grace))
            .await;
        background.iter().for_each(|task| task.abort());
        served?;
        self.state.db.clone().close().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::warn!(%err, "cannot listen for SIGTERM; only SIGINT stops the server");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
