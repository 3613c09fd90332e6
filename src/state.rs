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
    /// Woken by the NOTIFY of a queued message (the cluster listener): the mail sender.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Work a request leaves to run after its answer (e.g. a reset link for a known address,
    /// so the answer cannot tell known from unknown): shutdown waits for it.
    pub after_answer: tokio_util::task::TaskTracker,
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
    ) -> Self {
        Self(Arc::new(Shared {
            settings,
            db,
            auth,
            authz,
            mail,
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            after_answer: tokio_util::task::TaskTracker::new(),
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
