//! Response shapes of api.md ("Shapes"). Entities never leave the service layer as they are.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{
    auth::login::Issued,
    domain::Role,
    entity::{audit_event, dealership, session, user},
};

#[derive(Debug, Object)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// `null` for platform admins.
    pub dealership_id: Option<Uuid>,
    pub is_active: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone,
            role: u.role,
            dealership_id: u.dealership_id,
            is_active: u.is_active,
            last_login: u.last_login,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer …`, valid for `expires_in` seconds.
    pub access_token: String,
    /// Opaque; shown once. Absent in cookie mode, where it travels in an HttpOnly cookie.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// Always `bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub user: User,
}

impl TokenResponse {
    pub fn new(issued: Issued, cookie_mode: bool) -> Self {
        Self {
            access_token: issued.access_token,
            refresh_token: (!cookie_mode).then(|| issued.refresh_token.expose()),
            token_type: "bearer".into(),
            expires_in: issued.expires_in,
            user: issued.user.into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct Session {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When the session ends unless refreshed before.
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// This is the session of the token making the request.
    pub current: bool,
}

impl Session {
    pub fn new(s: session::Model, current_session: Uuid) -> Self {
        Self {
            current: s.id == current_session,
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            user_agent: s.user_agent,
            ip: s.ip,
        }
    }
}

#[derive(Debug, Object)]
pub struct Dealership {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<dealership::Model> for Dealership {
    fn from(d: dealership::Model) -> Self {
        Self {
            id: d.id,
            name: d.name,
            address: d.address,
            contact_email: d.contact_email,
            contact_phone: d.contact_phone,
            is_active: d.is_active,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub dealership_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// What changed (before/after); never secrets.
    pub changes: Option<serde_json::Value>,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(e: audit_event::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            dealership_id: e.dealership_id,
            actor_id: e.actor_id,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            ip: e.ip,
            changes: e.changes,
        }
    }
}

#[derive(Debug, Object)]
pub struct Count {
    pub count: u64,
}
