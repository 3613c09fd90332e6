//! Response shapes of api.md ("Shapes"). Entities never leave the service layer as they are.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{
    auth::login::Issued,
    domain::Role,
    entity::{session, user},
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
