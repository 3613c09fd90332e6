//! What every handler shares within one replica.

use std::{
    ops::Deref,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use crate::{
    auth::AuthContext, authz::Authorizer, config::Settings, error::FieldError, mail::Mailer,
    tenancy::Database,
};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub db: Database,
    pub auth: AuthContext,
    pub authz: Arc<Authorizer>,
    /// Composes mail (templates, links); messages are queued in the outbox.
    pub mail: Mailer,
    /// The OpenID provider: its issuer and ID-token keys.
    pub oidc: crate::oidc::Provider,
    /// Woken by the NOTIFY of a queued message (the cluster listener): the mail sender.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Woken by the NOTIFY of a queued webhook event (the cluster listener): the webhook
    /// sender.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// Work a request leaves to run after its answer (e.g. a reset link for a known address,
    /// so the answer cannot tell known from unknown): shutdown waits for it.
    pub after_answer: AfterAnswer,
    /// The last readiness checks and when they ran (see `http::health`).
    pub readiness: tokio::sync::Mutex<Option<(Instant, Vec<FieldError>)>>,
    shutting_down: AtomicBool,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Database,
        auth: AuthContext,
        authz: Arc<Authorizer>,
        mail: Mailer,
        oidc: crate::oidc::Provider,
    ) -> Self {
        Self(Arc::new(Shared {
            settings,
            db,
            auth,
            authz,
            mail,
            oidc,
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            after_answer: AfterAnswer::new(),
            readiness: tokio::sync::Mutex::new(None),
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// From now on `/readyz` answers 503, so load balancers stop sending traffic.
    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::SeqCst)
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Work left for after an answer: tracked (shutdown waits for it), and at most
/// [`AfterAnswer::AT_ONCE`] such jobs use the database at a time, so a flood of requests that
/// leave work behind cannot take the pool from the requests being answered.
pub struct AfterAnswer {
    tasks: tokio_util::task::TaskTracker,
    slots: Arc<tokio::sync::Semaphore>,
}

impl AfterAnswer {
    const AT_ONCE: usize = 4;

    fn new() -> Self {
        Self {
            tasks: tokio_util::task::TaskTracker::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(Self::AT_ONCE)),
        }
    }

    /// Runs `job` once a slot is free; a failure is logged as `what`, with its cause.
    pub fn spawn(
        &self,
        what: &'static str,
        job: impl Future<Output = Result<(), crate::error::AppError>> + Send + 'static,
    ) {
        use tracing::Instrument;
        let slots = self.slots.clone();
        // the request's span goes along: the log line names its request id
        let span = tracing::Span::current();
        let job = async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            if let Err(err) = job.await {
                let cause = match &err {
                    crate::error::AppError::Internal(cause) => format!("{cause:#}"),
                    other => other.to_string(),
                };
                tracing::error!(error = cause, "{what} failed after the answer");
            }
        };
        self.tasks.spawn(job.instrument(span));
    }

    /// No more work is taken; waits until what was taken is done.
    pub async fn drain(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}
