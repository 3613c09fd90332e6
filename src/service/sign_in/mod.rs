//! Signing in and staying signed in: login (password → new session), refresh (rotate the
//! session's token) and re-authentication before a sensitive change. All start before any
//! tenant is known, through the definer lookups, and continue in the user's own tenant
//! transaction; no caller exists yet, so they use plain tenant transactions, not a scope.

mod login;
mod reauth;
mod refresh;

pub use login::login;
pub use reauth::verify_current_password;
pub use refresh::refresh;

use uuid::Uuid;

use crate::{
    auth::{
        jwt::{self, Subject},
        refresh_token::RefreshToken,
    },
    domain::SignInName,
    entity::user,
    error::AppError,
    scope::RequestMeta,
    service::{audit, sessions},
    state::AppState,
    tenancy::TenantTx,
};

/// What a successful login or refresh hands out.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: RefreshToken,
    pub expires_in: u64,
    pub user: user::Model,
}

pub(super) fn count_login(outcome: &str, name: &SignInName) {
    crate::metrics::metrics()
        .logins
        .with_label_values(&[outcome, name.kind()])
        .inc();
}

pub(super) fn count_refresh(outcome: &str) {
    crate::metrics::metrics()
        .refreshes
        .with_label_values(&[outcome])
        .inc();
}

pub(super) fn login_event(
    action: &'static str,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    name: &SignInName,
    session_id: Option<Uuid>,
) -> audit::Event {
    audit::Event {
        dealership_id,
        actor_id: user_id,
        action,
        target_type: if session_id.is_some() {
            "session"
        } else {
            "user"
        },
        target_id: session_id.or(user_id),
        changes: Some(name_record(name)),
    }
}

/// What an audit event says the attempt signed in as: `{"email": …}` or `{"phone": …}`.
pub(super) fn name_record(name: &SignInName) -> serde_json::Value {
    serde_json::json!({ name.kind(): name.as_str() })
}

/// Opens a session for `user` in `tx` (a login, a signup) and hands back its first refresh
/// token, for [`issue`] once `tx` has committed.
pub(crate) async fn open_session(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
) -> Result<RefreshToken, AppError> {
    let session_id = Uuid::now_v7();
    let refresh_token = RefreshToken::generate(session_id);
    let auth = &state.settings.auth;
    let session = sessions::NewSession {
        id: session_id,
        user_id: user.id,
        dealership_id: user.dealership_id,
        refresh_token_hash: refresh_token.hash(),
        idle_secs: auth.refresh_token_ttl_secs as i64,
        max_age_secs: auth.session_max_age_secs as i64,
    };
    sessions::create(tx, session, meta).await?;
    Ok(refresh_token)
}

pub(crate) fn issue(
    state: &AppState,
    user: user::Model,
    refresh_token: RefreshToken,
) -> Result<Issued, AppError> {
    let auth = &state.settings.auth;
    let access_token = jwt::issue(
        &state.auth.keys,
        auth,
        &Subject {
            user_id: user.id,
            dealership_id: user.dealership_id,
            role: user.role,
            custom_role: user.custom_role_id,
            session_id: refresh_token.session_id,
            token_version: user.token_version,
        },
    )?;
    Ok(Issued {
        access_token,
        refresh_token,
        expires_in: auth.access_token_ttl_secs,
        user,
    })
}
