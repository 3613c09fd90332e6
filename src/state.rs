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
    auth::AuthContext, authz::Authorizer, config::Settings, error::FieldError, tenancy::Database,
};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub db: Database,
    pub auth: AuthContext,
    pub authz: Arc<Authorizer>,
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
    ) -> Self {
        Self(Arc::new(Shared {
            settings,
            db,
            auth,
            authz,
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
