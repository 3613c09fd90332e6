//! What happens: business rules over a tenant transaction; no HTTP types here.

pub mod audit;
pub mod seed;
pub mod sessions;
pub mod users;

/// Where a request came from, as recorded in sessions and audit events.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
