//! Who is calling: a verified access token whose session is still alive.

use uuid::Uuid;

use super::{
    AuthContext,
    jwt::AccessClaims,
    mfa::Standing,
    service_accounts::{self, KeyState, ServiceActor},
    sessions::{self, SessionState},
};
use crate::{
    authz::Reach,
    config::AuthSettings,
    domain::Role,
    error::AppError,
    tenancy::{Database, Scope},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The person (the token's `sub`).
    pub person_id: Uuid,
    /// The membership the caller acts as: the id `/users/{id}` names.
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    /// The dealer group a group membership acts in (then `dealership_id` is `None`).
    pub group_id: Option<Uuid>,
    /// The rank; what the caller may, unless `custom_role` says more.
    pub role: Role,
    /// A custom role of the caller's dealership, whose base role is `role`.
    pub custom_role: Option<Uuid>,
    pub session_id: Uuid,
    /// When this session last proved a second factor (unix seconds), from the token's `amr`.
    pub otp_at: Option<i64>,
    pub mfa: Standing,
    /// A service account (an API key or a client-credentials token): then `person_id` and
    /// `user_id` are the account's id and `session_id` the key's.
    pub service_account: Option<ServiceActor>,
}

impl Principal {
    /// Whether a second factor was proven within the last `max_age_secs`.
    pub fn otp_within(&self, max_age_secs: u64) -> bool {
        let now = chrono::Utc::now().timestamp();
        self.otp_at
            .is_some_and(|at| now.saturating_sub(at) <= max_age_secs as i64)
    }

    /// The scope of the caller's own transactions: their dealership, their group, or platform
    /// for admins.
    pub fn scope(&self) -> Scope {
        scope_of(self.dealership_id, self.group_id)
    }

    /// The reach a policy grant gives this caller: what their token can name. A group
    /// membership names no dealership of its own, so `dealership` reach is its own record; a
    /// dealership's membership never reaches the group (whatever a policy file says).
    pub fn confine(&self, reach: Reach) -> Reach {
        match (reach, self.dealership_id, self.group_id) {
            (Reach::Dealership, None, Some(_)) => Reach::Own,
            (Reach::Any, None, Some(_)) => Reach::Group,
            (Reach::Group, Some(_), _) => Reach::Dealership,
            (Reach::Group, None, None) => Reach::Own,
            (reach, ..) => reach,
        }
    }
}

/// The scope of a membership: its dealership, its group (a group membership), or platform
/// (admins: neither).
pub fn scope_of(dealership_id: Option<Uuid>, group_id: Option<Uuid>) -> Scope {
    match (dealership_id, group_id) {
        (Some(dealership), _) => Scope::Dealership(dealership),
        (None, Some(group)) => Scope::Group(group),
        (None, None) => Scope::Platform,
    }
}

/// Verifies the token, then checks its session and the user's token version (cached; a
/// revocation anywhere drops the cache entry at once).
pub async fn authenticate(
    auth: &AuthContext,
    settings: &AuthSettings,
    db: &Database,
    token: &str,
) -> Result<Principal, AppError> {
    if token.starts_with(service_accounts::KEY_PREFIX) {
        return authenticate_key(auth, db, token).await;
    }
    let tokens = auth.sessions.tokens();
    let claims = tokens.verify(&auth.keys, settings, token)?;
    if claims.sa {
        return authenticate_machine_token(auth, db, &claims).await;
    }
    let load = async {
        let tx = db
            .begin_reading(scope_of(claims.dealership_id, claims.group_id))
            .await?;
        let found = sessions::load(&tx, claims.sid).await?;
        tx.commit().await?;
        Ok(found)
    };
    let membership = claims.membership_id();
    // the membership is live and still holds the role the token names
    let alive = |s: &SessionState| {
        s.live
            && s.user_id == membership
            && s.person_id == claims.sub
            && s.token_version == claims.ver
            && s.dealership_id == claims.dealership_id
            && s.group_id == claims.group_id
            && s.role == claims.role
            && s.custom_role == claims.custom_role
    };
    match auth.sessions.state(claims.sid, load).await? {
        Some(session) if alive(&session) => Ok(Principal {
            person_id: claims.sub,
            user_id: membership,
            dealership_id: claims.dealership_id,
            group_id: claims.group_id,
            role: claims.role,
            custom_role: claims.custom_role,
            session_id: claims.sid,
            otp_at: claims.otp_at(),
            mfa: claims.mfa,
            service_account: None,
        }),
        _ => {
            tracing::debug!(sid = %claims.sid, "access token of a revoked or stale session");
            // verified again just now: it must not stay to fill the cache until it expires
            tokens.forget(token);
            Err(AppError::Unauthenticated)
        }
    }
}

/// The state of key `key_id` (cached per replica, dropped by every revocation notice).
async fn key_state(auth: &AuthContext, db: &Database, key_id: Uuid) -> Result<KeyState, AppError> {
    let load = async {
        let tx = db.begin_reading(Scope::Anonymous).await?;
        let found = service_accounts::load(&tx, key_id).await?;
        tx.commit().await?;
        Ok(found)
    };
    match auth.sessions.machines().key(key_id, load).await? {
        Some(key) if key.usable() => Ok(key),
        _ => {
            tracing::debug!(key_id = %key_id, "unknown, revoked or expired service account key");
            Err(AppError::Unauthenticated)
        }
    }
}

/// An API key, `dg_<key id>_<secret>`: found by its id, its secret compared in constant time.
async fn authenticate_key(
    auth: &AuthContext,
    db: &Database,
    token: &str,
) -> Result<Principal, AppError> {
    let (key_id, secret) = service_accounts::parse_key(token).ok_or(AppError::Unauthenticated)?;
    Ok(machine(&usable_key(auth, db, key_id, secret).await?))
}

/// Key `key_id` if it is usable and `secret` is its own (401 otherwise): an API key, or the
/// client credentials of the client-credentials grant.
pub async fn usable_key(
    auth: &AuthContext,
    db: &Database,
    key_id: Uuid,
    secret: &str,
) -> Result<KeyState, AppError> {
    let key = key_state(auth, db, key_id).await?;
    if !key.secret_matches(secret) {
        tracing::debug!(key_id = %key_id, "wrong secret for a service account key");
        return Err(AppError::Unauthenticated);
    }
    Ok(key)
}

/// A client-credentials access token: alive while its key is, and naming what the key's
/// account still is.
async fn authenticate_machine_token(
    auth: &AuthContext,
    db: &Database,
    claims: &AccessClaims,
) -> Result<Principal, AppError> {
    let key = key_state(auth, db, claims.sid).await?;
    let same = key.service_account_id == claims.sub
        && key.dealership_id == claims.dealership_id
        && key.group_id == claims.group_id
        && key.role == claims.role
        && key.custom_role_id == claims.custom_role;
    if !same {
        return Err(AppError::Unauthenticated);
    }
    Ok(machine(&key))
}

fn machine(key: &KeyState) -> Principal {
    Principal {
        person_id: key.service_account_id,
        user_id: key.service_account_id,
        dealership_id: key.dealership_id,
        group_id: key.group_id,
        role: key.role,
        custom_role: key.custom_role_id,
        session_id: key.key_id,
        otp_at: None,
        mfa: Standing::Optional,
        service_account: Some(key.actor()),
    }
}
