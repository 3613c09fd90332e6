//! Signing in and staying signed in: login (password → new session) and refresh (rotate the
//! session's token). Both start before any tenant is known, through the definer lookups, and
//! continue in the user's own tenant transaction.

use uuid::Uuid;

use super::{
    jwt::{self, Subject},
    password,
    principal::{Principal, scope_of},
    refresh_token::RefreshToken,
    revocation::{self, Revoked},
    throttle,
};
use crate::{
    domain::Email,
    entity::user,
    error::AppError,
    service::{RequestMeta, audit, sessions, users},
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// What a successful login or refresh hands out.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: RefreshToken,
    pub expires_in: u64,
    pub user: user::Model,
}

pub async fn login(
    state: &AppState,
    email: Email,
    password: String,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let ip = meta.ip.as_deref();
    let tx = state.db.begin(Scope::Anonymous).await?;
    let candidate = users::login_candidate(&tx, &email).await?;
    let locked = throttle::locked_for(&tx, &email, ip).await?;
    tx.commit().await?;
    let dealership_id = candidate.as_ref().and_then(|c| c.dealership_id);
    let user_id = candidate.as_ref().map(|c| c.user_id);

    if let Some(retry_after_secs) = locked {
        return Err(refuse_locked(
            state,
            &email,
            dealership_id,
            user_id,
            retry_after_secs,
            meta,
        )
        .await);
    }

    // unknown emails are checked against a dummy hash: same answer, same time
    let hash = candidate.as_ref().map_or_else(
        || state.auth.dummy_hash.clone(),
        |c| c.password_hash.clone(),
    );
    let matches = password::verify(password, hash).await?;
    // attempts sent all at once passed the first check together; the ones that waited for the
    // hasher while others failed are refused now, whatever their password
    if let Some(retry_after_secs) = locked_now(state, &email, ip).await? {
        return Err(refuse_locked(
            state,
            &email,
            dealership_id,
            user_id,
            retry_after_secs,
            meta,
        )
        .await);
    }
    let Some(candidate) = candidate.filter(|_| matches) else {
        return Err(failed(
            state,
            &email,
            dealership_id,
            user_id,
            "bad_credentials",
            meta,
        )
        .await);
    };

    let tx = state.db.begin(scope_of(candidate.dealership_id)).await?;
    let Some(user) = users::find_signable(&tx, candidate.user_id).await? else {
        drop(tx);
        return Err(failed(state, &email, dealership_id, user_id, "inactive", meta).await);
    };
    let session_id = Uuid::now_v7();
    let refresh_token = RefreshToken::generate(session_id);
    let auth = &state.settings.auth;
    sessions::create(
        &tx,
        sessions::NewSession {
            id: session_id,
            user_id: user.id,
            dealership_id: user.dealership_id,
            refresh_token_hash: refresh_token.hash(),
            idle_secs: auth.refresh_token_ttl_secs as i64,
            max_age_secs: auth.session_max_age_secs as i64,
        },
        meta,
    )
    .await?;
    users::touch_last_login(&tx, user.id).await?;
    throttle::reset(&tx, &email).await?;
    audit::record(
        &tx,
        meta,
        login_event(
            "login.succeeded",
            user.dealership_id,
            Some(user.id),
            &email,
            Some(session_id),
        ),
    )
    .await?;
    tx.commit().await?;
    count_login("success");
    issue(state, user, refresh_token)
}

fn count_login(outcome: &str) {
    crate::metrics::metrics()
        .logins
        .with_label_values(&[outcome])
        .inc();
}

fn count_refresh(outcome: &str) {
    crate::metrics::metrics()
        .refreshes
        .with_label_values(&[outcome])
        .inc();
}

/// Checks the signed-in user's current password before a sensitive change, under the same
/// throttle as logins: locked → 429; wrong → counted, and 422 naming `current_password`.
pub async fn verify_current_password(
    state: &AppState,
    me: &Principal,
    email: &Email,
    current: String,
    hash: String,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if let Some(retry_after_secs) = locked_now(state, email, meta.ip.as_deref()).await? {
        return Err(refuse_locked(
            state,
            email,
            me.dealership_id,
            Some(me.user_id),
            retry_after_secs,
            meta,
        )
        .await);
    }
    if password::verify(current, hash).await? {
        return Ok(());
    }
    match failed(
        state,
        email,
        me.dealership_id,
        Some(me.user_id),
        "wrong_current_password",
        meta,
    )
    .await
    {
        AppError::Unauthenticated => {
            Err(AppError::Validation(vec![crate::error::FieldError::new(
                "current_password",
                "is not correct",
            )]))
        }
        other => Err(other),
    }
}

/// Seconds until the account or IP is unlocked, asked again (its own short transaction).
pub async fn locked_now(
    state: &AppState,
    email: &Email,
    ip: Option<&str>,
) -> Result<Option<u64>, AppError> {
    let tx = state.db.begin(Scope::Anonymous).await?;
    let locked = throttle::locked_for(&tx, email, ip).await?;
    tx.commit().await?;
    Ok(locked)
}

/// Audits a locked attempt and gives the 429 every locked attempt gets.
async fn refuse_locked(
    state: &AppState,
    email: &Email,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    retry_after_secs: u64,
    meta: &RequestMeta,
) -> AppError {
    let recorded = async {
        let tx = state.db.begin(scope_of(dealership_id)).await?;
        audit::record(
            &tx,
            meta,
            login_event("login.locked", dealership_id, user_id, email, None),
        )
        .await?;
        tx.commit().await
    };
    count_login("locked");
    match recorded.await {
        Ok(()) => AppError::RateLimited { retry_after_secs },
        Err(err) => err,
    }
}

/// Counts and audits a failed login, waits the progressive delay, and gives the one answer
/// every failure gets.
async fn failed(
    state: &AppState,
    email: &Email,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    reason: &str,
    meta: &RequestMeta,
) -> AppError {
    let recorded = async {
        let tx = state.db.begin(scope_of(dealership_id)).await?;
        let failures =
            throttle::record_failure(&tx, &state.settings.auth.lockout, email, meta.ip.as_deref())
                .await?;
        let mut event = login_event("login.failed", dealership_id, user_id, email, None);
        event.changes = Some(serde_json::json!({"email": email.as_str(), "reason": reason}));
        audit::record(&tx, meta, event).await?;
        tx.commit().await?;
        Ok::<_, AppError>(failures)
    };
    count_login("failure");
    match recorded.await {
        Ok(failures) => {
            tokio::time::sleep(throttle::delay(&state.settings.auth.lockout, failures)).await;
            AppError::Unauthenticated
        }
        Err(err) => err,
    }
}

fn login_event(
    action: &'static str,
    dealership_id: Option<Uuid>,
    user_id: Option<Uuid>,
    email: &Email,
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
        changes: Some(serde_json::json!({"email": email.as_str()})),
    }
}

/// Rotates the session's refresh token. A token another tab rotated moments ago (inside the
/// grace window) gets the same successor; any retired token of the family presented later is a
/// replay and ends the whole session.
pub async fn refresh(
    state: &AppState,
    raw_token: &str,
    meta: &RequestMeta,
) -> Result<Issued, AppError> {
    let presented = RefreshToken::parse(raw_token).ok_or(AppError::Unauthenticated)?;
    let tx = state.db.begin(Scope::Anonymous).await?;
    let owner = sessions::owner_of(&tx, presented.session_id).await?;
    tx.commit().await?;
    let owner = owner.ok_or(AppError::Unauthenticated)?;

    let auth = &state.settings.auth;
    let next = presented.successor(&state.auth.rotation);
    let tx = state.db.begin(scope_of(owner.dealership_id)).await?;
    let first_use = sessions::rotate(
        &tx,
        owner.session_id,
        presented.hash(),
        next.hash(),
        auth.refresh_token_ttl_secs as i64,
    )
    .await?;
    if !first_use {
        let grace = auth.refresh_grace_secs as i64;
        let chain = sessions::chain(&tx, owner.session_id, grace).await?;
        match judge_stale(chain, &presented, &next) {
            Stale::InGrace => count_refresh("grace"),
            Stale::Replayed => return Err(end_replayed_family(state, tx, &owner, meta).await),
            Stale::MaybeRetired { current, rotations } => {
                // the walk is CPU work: give the connection back while it runs
                tx.commit().await?;
                if is_retired(state, &presented, current, rotations).await? {
                    let tx = state.db.begin(scope_of(owner.dealership_id)).await?;
                    return Err(end_replayed_family(state, tx, &owner, meta).await);
                }
                count_refresh("refused");
                return Err(AppError::Unauthenticated);
            }
            Stale::Unknown => {
                count_refresh("refused");
                return Err(AppError::Unauthenticated);
            }
        }
    }
    let user = users::find_signable(&tx, owner.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    tx.commit().await?;
    if first_use {
        count_refresh("rotated");
    }
    issue(state, user, next)
}

/// What a presented token that is not the session's current one is.
enum Stale {
    /// The token another tab rotated moments ago: its successor is the current token.
    InGrace,
    /// A retired token of this family (RFC 9700 §4.14.2): someone holds a stolen copy.
    Replayed,
    /// Perhaps a token retired further back: follow the chain to find out.
    MaybeRetired { current: Vec<u8>, rotations: u32 },
    /// Not a token of this family, or the session is over: refused, nothing changes.
    Unknown,
}

fn judge_stale(
    chain: Option<sessions::Chain>,
    presented: &RefreshToken,
    next: &RefreshToken,
) -> Stale {
    let Some(chain) = chain.filter(|c| !c.revoked) else {
        return Stale::Unknown;
    };
    let presented_hash = presented.hash();
    if chain.refresh_token_hash == presented_hash {
        // the current token, yet not rotated: the session expired or reached its rotation limit
        return Stale::Unknown;
    }
    if chain.previous_token_hash == Some(presented_hash) {
        let converges = chain.in_grace && next.hash() == chain.refresh_token_hash;
        return if converges {
            Stale::InGrace
        } else {
            Stale::Replayed
        };
    }
    Stale::MaybeRetired {
        current: chain.refresh_token_hash,
        rotations: u32::try_from(chain.rotation_count).unwrap_or(0),
    }
}

/// Follows the keyed chain forward from the presented token: only a genuine retired token meets
/// the current one, so guessing a session id cannot end someone else's session.
async fn is_retired(
    state: &AppState,
    presented: &RefreshToken,
    current: Vec<u8>,
    rotations: u32,
) -> Result<bool, AppError> {
    let (presented, key) = (presented.clone(), state.auth.rotation.clone());
    tokio::task::spawn_blocking(move || presented.precedes(&key, &current, rotations))
        .await
        .map_err(AppError::internal)
}

/// Revokes the whole session a replayed token belongs to, audited and announced to every
/// replica; the answer is the refusal the replaying client gets.
async fn end_replayed_family(
    state: &AppState,
    tx: TenantTx,
    owner: &sessions::Owner,
    meta: &RequestMeta,
) -> AppError {
    let ended = async {
        sessions::revoke(&tx, owner.user_id, owner.session_id, "refresh_token_reuse").await?;
        audit::record(
            &tx,
            meta,
            audit::Event {
                dealership_id: owner.dealership_id,
                actor_id: None,
                action: "session.refresh_token_reused",
                target_type: "session",
                target_id: Some(owner.session_id),
                changes: Some(serde_json::json!({"user_id": owner.user_id, "revoked": true})),
            },
        )
        .await?;
        revocation::publish(&tx, Revoked::Session(owner.session_id)).await?;
        tx.commit().await
    };
    if let Err(err) = ended.await {
        return err;
    }
    state
        .auth
        .sessions
        .apply(Revoked::Session(owner.session_id))
        .await;
    tracing::warn!(session_id = %owner.session_id, "refresh token replayed: session revoked");
    count_refresh("reuse_detected");
    AppError::Unauthenticated
}

fn issue(
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
