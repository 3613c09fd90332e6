//! Signing in and staying signed in: login (password → new session), refresh (rotate the
//! session's token) and re-authentication before a sensitive change. All start before any
//! tenant is known, through the definer lookups, and continue in the user's own tenant
//! transaction; no caller exists yet, so they use plain tenant transactions, not a scope.

mod codes;
mod login;
mod reauth;
mod refresh;
mod switch;

pub use codes::{
    CodeLock, clear_code_counts, code_lock, count_wrong_code, refuse_locked_code, user_lock,
    wrong_code_answer,
};
pub use login::login;
pub use reauth::{verify_current_password, verify_password_of};
pub use refresh::{end_by_refresh_token, refresh};
pub use switch::switch;

use uuid::Uuid;

use crate::{
    auth::{
        jwt::{self, Authn, Subject},
        refresh_token::RefreshToken,
    },
    domain::SignInName,
    entity::{membership::Summary, user},
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
    /// Every membership the person may sign in to (the picker's list).
    pub memberships: Vec<Summary>,
    /// The session's second-factor standing, as its access token says (`mfa`).
    pub standing: crate::auth::mfa::Standing,
    /// How and when the session was authenticated (`amr`, `auth_time`).
    pub authn: Authn,
}

/// What a right password gets: tokens, or (for a user with a second factor) the
/// `mfa_token` that `POST /auth/mfa/verify` takes with a code.
pub enum SignedIn {
    Tokens(Box<Issued>),
    MfaRequired { mfa_token: String, expires_in: u64 },
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
    open_session_proving(state, tx, user, meta, false).await
}

/// [`open_session`], for a sign-in that proved a second factor (`mfa`) too.
pub(crate) async fn open_session_proving(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
    mfa: bool,
) -> Result<RefreshToken, AppError> {
    let session_id = Uuid::now_v7();
    let carried = sessions::Carried {
        authenticated_at: None,
        mfa_at: mfa.then(chrono::Utc::now),
    };
    let ids = (session_id, session_id);
    open_family(state, tx, user, meta, ids, carried, None).await
}

/// Opens refresh family `ids.0` of `user`'s membership in sign-in `ids.1` (a new sign-in: the
/// same id twice), for an OpenID `client` or for the API, and hands back its first refresh
/// token.
pub(crate) async fn open_family(
    state: &AppState,
    tx: &TenantTx,
    user: &user::Model,
    meta: &RequestMeta,
    (session_id, sign_in_id): (Uuid, Uuid),
    carried: sessions::Carried,
    client: Option<sessions::ClientFamily>,
) -> Result<RefreshToken, AppError> {
    let refresh_token = RefreshToken::generate(session_id);
    let auth = &state.settings.auth;
    let session = sessions::NewSession {
        id: session_id,
        sign_in_id,
        user_id: user.id,
        dealership_id: user.dealership_id,
        refresh_token_hash: refresh_token.hash(),
        idle_secs: auth.refresh_token_ttl_secs as i64,
        max_age_secs: auth.session_max_age_secs as i64,
        carried,
        client,
    };
    sessions::create(tx, session, meta).await?;
    Ok(refresh_token)
}

/// Tokens for `user`'s session, once the transaction that opened or rotated it is ready to
/// commit: `authn` (read in it, [`mfa::authn`](crate::service::mfa::authn)) says how the
/// session was authenticated.
pub(crate) fn issue(
    state: &AppState,
    user: user::Model,
    memberships: Vec<Summary>,
    refresh_token: RefreshToken,
    authn: Authn,
) -> Result<Issued, AppError> {
    let standing = authn.standing;
    let access_token = access_token(state, &user, refresh_token.session_id, authn)?;
    Ok(Issued {
        access_token,
        refresh_token,
        expires_in: state.settings.auth.access_token_ttl_secs,
        user,
        memberships,
        standing,
        authn,
    })
}

/// A new access token for `user`'s session `session_id` (its refresh token unchanged).
pub(crate) fn access_token(
    state: &AppState,
    user: &user::Model,
    session_id: Uuid,
    authn: Authn,
) -> Result<String, AppError> {
    jwt::issue(
        &state.auth.keys,
        &state.settings.auth,
        &Subject {
            person_id: user.person_id,
            user_id: user.id,
            dealership_id: user.dealership_id,
            group_id: user.group_id,
            role: user.role,
            custom_role: user.custom_role_id,
            session_id,
            token_version: user.token_version,
            authn,
        },
    )
}

/// [`issue`] for a session opened or rotated in `tx`: how it was authenticated is read there.
pub(crate) async fn issue_in(
    state: &AppState,
    tx: &TenantTx,
    user: user::Model,
    refresh_token: RefreshToken,
) -> Result<Issued, AppError> {
    let authn = crate::service::mfa::authn(
        tx,
        &state.settings.auth.mfa,
        &user,
        refresh_token.session_id,
    )
    .await?;
    let memberships = crate::service::users::memberships_of(tx, user.person_id).await?;
    issue(state, user, memberships, refresh_token, authn)
}
