//! Application::build(settings) → a bound, checked server that knows its port.

use anyhow::{Context, bail};
use tokio::net::TcpListener;

use crate::{
    auth::AuthContext,
    authz::{Authorizer, reload},
    cluster, console, http,
    mail::sender::Sender,
    oidc,
    service::webhooks::sender::Sender as WebhookSender,
    state::AppState,
    tenancy::{Database, posture},
};

pub struct Application {
    listener: TcpListener,
    ops_listener: Option<TcpListener>,
    state: AppState,
    /// Policy loads not made by a request, audited by `service::policies::record_loads`
    /// once serving starts (the start-up load is the first).
    loads: (
        reload::Loads,
        tokio::sync::mpsc::UnboundedReceiver<reload::Load>,
    ),
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
        let auth = AuthContext::build(&settings.auth, &settings.cache).await?;
        let authz = Authorizer::load(&settings.policies.dir, settings.cache.policy_decisions)
            .await
            .map_err(|reasons| {
                anyhow::anyhow!(
                    "policy in {} rejected: {}",
                    settings.policies.dir.display(),
                    reasons.join("; ")
                )
            })?;
        // the custom roles are in force from the first request (the listener refreshes them)
        crate::authz::reload::refresh_roles(&authz, &db)
            .await
            .context("reading the custom roles")?;
        let loads = tokio::sync::mpsc::unbounded_channel();
        let _ = loads.0.send(reload::Load {
            source: reload::Source::Startup,
            outcome: Ok(crate::authz::Reloaded {
                summary: authz.summary(),
                previous_hash: String::new(),
                diff: Default::default(),
            }),
        });
        let listener = bind(settings.listen).await?;
        // dev links go to this server's own console, on the port it really has
        let bound = listener.local_addr().unwrap_or(settings.listen);
        let mail = crate::mail::Mailer::new(&settings.mail, settings.profile, bound)
            .context("loading the mail templates")?;
        let oidc = crate::oidc::Provider::build(&settings, bound)
            .context("loading the OpenID provider's keys")?;
        let ops_listener = match settings.http.ops_listen {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        Ok(Self {
            listener,
            ops_listener,
            state: AppState::new(settings, db, auth, std::sync::Arc::new(authz), mail, oidc),
            loads,
        })
    }

    pub fn port(&self) -> u16 {
        port_of(&self.listener)
    }

    /// The operators' listener's port, if one is configured.
    pub fn ops_port(&self) -> Option<u16> {
        self.ops_listener.as_ref().map(port_of)
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
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let stop = async move {
            stop.await;
            state.begin_shutdown();
            tracing::info!(
                delay_secs = delay.as_secs(),
                "shutting down: unready, then draining in-flight requests"
            );
            tokio::time::sleep(delay).await;
            let _ = stopping.send(true);
        };
        let settings = &self.state.settings;
        let (loads, reported) = self.loads;
        let mut background = vec![
            crate::service::policies::record_loads(self.state.db.clone(), reported),
            cluster::spawn_listener(
                settings.database.listen_url().to_owned(),
                self.state.auth.sessions.clone(),
                self.state.authz.clone(),
                self.state.db.clone(),
                cluster::Wake {
                    mail: self.state.mail_wake.clone(),
                    webhooks: self.state.webhook_wake.clone(),
                },
                loads.clone(),
            ),
            reload::on_hangup(self.state.authz.clone(), loads.clone()),
            crate::service::maintenance::spawn(
                self.state.db.clone(),
                settings.maintenance.clone(),
                settings.auth.lockout.clone(),
                settings.audit.clone(),
            ),
            crate::service::dormant::spawn(self.state.clone()),
        ];
        let mail_stop = tokio_util::sync::CancellationToken::new();
        let mail_sender = Sender::new(self.state.db.clone(), settings.mail.clone())?
            .spawn(self.state.mail_wake.clone(), mail_stop.clone());
        let webhook_sender = match settings.webhooks.enabled {
            true => Some(
                WebhookSender::new(
                    self.state.db.clone(),
                    settings.webhooks.clone(),
                    self.state.auth.mfa.clone(),
                    self.state.mail.clone(),
                )?
                .spawn(self.state.webhook_wake.clone(), mail_stop.clone()),
            ),
            false => None,
        };
        if settings.policies.watch {
            background.push(reload::watch(
                &settings.policies.dir,
                self.state.authz.clone(),
                loads,
            )?);
        }
        let limits = http::serve::Limits {
            header_timeout: settings.http.header_timeout(),
            idle_timeout: settings.http.idle_timeout(),
        };
        let ops_url = self
            .ops_listener
            .as_ref()
            .map(|l| format!("http://{}", address_of(l)));
        if let Some(ops) = self.ops_listener {
            tracing::info!(
                port = port_of(&ops),
                "operators' listener (metrics, readiness)"
            );
            let mut stopped = stopped.clone();
            let app = http::ops_app(self.state.clone());
            background.push(tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                if let Err(err) = http::serve::serve(ops, app, limits, stop, grace).await {
                    tracing::error!(%err, "the operators' listener failed");
                }
            }));
        }
        let port = port_of(&self.listener);
        let api = format!("http://{}", address_of(&self.listener));
        tracing::info!(
            port,
            api = %api,
            docs = %format!("{api}/docs"),
            ops = %ops_url.as_deref().unwrap_or("none"),
            "listening"
        );
        let served = http::serve::serve(
            self.listener,
            http::app(
                self.state.clone(),
                http::Beside {
                    console: console::routes(&self.state),
                    oauth2: oidc::routes(&self.state, console::oidc::pages()),
                    discovery: oidc::discovery(&self.state),
                },
            ),
            limits,
            stop,
            grace,
        )
        .await;
        drop(stopped);
        // what answered requests left to do still needs the pool (and may queue mail)
        if tokio::time::timeout(grace, self.state.after_answer.drain())
            .await
            .is_err()
        {
            tracing::warn!("work left by answered requests did not finish in time");
        }
        background.iter().for_each(|task| task.abort());
        // the message in hand is finished (its row marked) before the pool closes
        mail_stop.cancel();
        if tokio::time::timeout(grace, mail_sender).await.is_err() {
            tracing::warn!("the mail sender did not stop in time");
        }
        if let Some(sender) = webhook_sender
            && tokio::time::timeout(grace, sender).await.is_err()
        {
            tracing::warn!("the webhook sender did not stop in time");
        }
        served?;
        self.state.db.clone().close().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn bind(address: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))
}

fn port_of(listener: &TcpListener) -> u16 {
    listener.local_addr().map_or(0, |a| a.port())
}

fn address_of(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string())
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
