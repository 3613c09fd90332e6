//! Sessions: one per login, a refresh-token family. Rotation is a single conditional UPDATE, so
//! two replicas racing on the same token cannot both take the first-use path.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Set, Statement,
};
use uuid::Uuid;

use super::audit;
use crate::{
    auth::{refresh_token::MAX_REPLAY_WALK, sessions::Revoked},
    entity::session,
    error::AppError,
    scope::{RequestMeta, RequestScope},
    tenancy::TenantTx,
};

/// The session a refresh token names, as the definer lookup returns it (before any tenant).
#[derive(Debug, FromQueryResult)]
pub struct Owner {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// The OpenID client the family belongs to, if any.
    pub client_id: Option<Uuid>,
}

pub async fn owner_of(tx: &TenantTx, session_id: Uuid) -> Result<Option<Owner>, AppError> {
    Ok(Owner::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM auth_refresh_lookup($1)",
        [session_id.into()],
    ))
    .one(tx)
    .await?)
}

pub struct NewSession {
    pub id: Uuid,
    /// The sign-in it belongs to (a new sign-in: `id`).
    pub sign_in_id: Uuid,
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub refresh_token_hash: Vec<u8>,
    pub idle_secs: i64,
    pub max_age_secs: i64,
    /// What it carries of its sign-in.
    pub carried: Carried,
    /// A client's family: the client and what it was granted.
    pub client: Option<ClientFamily>,
}

/// What a family opened later in a sign-in (a switch, a client's) carries of it: when the
/// person authenticated (its `auth_time`, which must not move) and when a second factor was
/// proven. A new sign-in carries nothing: it is authenticated now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carried {
    pub authenticated_at: Option<chrono::DateTime<Utc>>,
    pub mfa_at: Option<chrono::DateTime<Utc>>,
}

impl Carried {
    /// What `family` carries on to another family of its sign-in.
    pub fn from(family: &session::Model) -> Self {
        Self {
            authenticated_at: Some(family.authenticated_at.unwrap_or(family.created_at)),
            mfa_at: family.mfa_at,
        }
    }
}

pub struct ClientFamily {
    pub client_id: Uuid,
    pub scopes: Vec<String>,
}

pub async fn create(tx: &TenantTx, new: NewSession, meta: &RequestMeta) -> Result<(), AppError> {
    let now = Utc::now();
    session::ActiveModel {
        id: Set(new.id),
        sign_in_id: Set(new.sign_in_id),
        dealership_id: Set(new.dealership_id),
        user_id: Set(new.user_id),
        refresh_token_hash: Set(new.refresh_token_hash),
        user_agent: Set(meta
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(512).collect())),
        ip: Set(meta.ip.clone()),
        expires_at: Set(now + chrono::Duration::seconds(new.idle_secs.min(new.max_age_secs))),
        absolute_expires_at: Set(now + chrono::Duration::seconds(new.max_age_secs)),
        mfa_at: Set(new.carried.mfa_at),
        client_id: Set(new.client.as_ref().map(|c| c.client_id)),
        client_scopes: Set(new.client.as_ref().map(|c| c.scopes.clone())),
        authenticated_at: Set(new.carried.authenticated_at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// First use of the current token: swaps in `next_hash` and slides the idle expiry. `false` if
/// the presented token is not the current one of a live session (anymore), or the session has
/// rotated [`MAX_REPLAY_WALK`] times: past that a retired token could no longer be recognised,
/// so the session ends and its user signs in again. A rotation is activity: the membership's
/// dormancy clock moves in the same statement, at most once a day (no extra round trip, and a
/// busy refresh rate writes the membership row once a day, not once a refresh).
pub async fn rotate(
    tx: &TenantTx,
    session_id: Uuid,
    presented_hash: Vec<u8>,
    next_hash: Vec<u8>,
    idle_secs: i64,
) -> Result<bool, AppError> {
    let rotated = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH rotated AS ( \
                 UPDATE sessions SET previous_token_hash = refresh_token_hash, \
                     refresh_token_hash = $3, rotated_at = now(), \
                     rotation_count = rotation_count + 1, last_used_at = now(), \
                     expires_at = least(now() + make_interval(secs => $4), absolute_expires_at) \
                 WHERE id = $1 AND refresh_token_hash = $2 AND revoked_at IS NULL \
                   AND expires_at > now() AND absolute_expires_at > now() \
                   AND rotation_count < $5 \
                 RETURNING user_id) \
             , active AS ( \
                 UPDATE memberships m SET last_active_at = now(), dormant_notice_at = NULL, \
                     dormant_kept_at = NULL \
                 FROM rotated r \
                 WHERE m.id = r.user_id AND m.last_active_at < now() - interval '1 day') \
             SELECT count(*) AS n FROM rotated",
            [
                session_id.into(),
                presented_hash.into(),
                next_hash.into(),
                (idle_secs as f64).into(),
                (MAX_REPLAY_WALK as i32).into(),
            ],
        ))
        .await?;
    let rotated = rotated.map_or(Ok(0), |row| row.try_get::<i64>("", "n"))?;
    Ok(rotated == 1)
}

/// Where a session's token chain stands, to judge a presented token that is not its current one.
#[derive(Debug, FromQueryResult)]
pub struct Chain {
    pub refresh_token_hash: Vec<u8>,
    pub previous_token_hash: Option<Vec<u8>>,
    pub rotation_count: i32,
    /// The previous token was rotated away within the grace window of a session still usable.
    pub in_grace: bool,
    pub revoked: bool,
}

pub async fn chain(
    tx: &TenantTx,
    session_id: Uuid,
    grace_secs: i64,
) -> Result<Option<Chain>, AppError> {
    Ok(Chain::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT refresh_token_hash, previous_token_hash, rotation_count, \
                (rotated_at > now() - make_interval(secs => $2) AND revoked_at IS NULL \
                 AND expires_at > now() AND absolute_expires_at > now()) IS TRUE AS in_grace, \
                revoked_at IS NOT NULL AS revoked \
         FROM sessions WHERE id = $1",
        [session_id.into(), (grace_secs as f64).into()],
    ))
    .one(tx)
    .await?)
}

/// Revokes one session of `user_id`; `false` if there was no such live session.
pub async fn revoke(
    tx: &TenantTx,
    user_id: Uuid,
    session_id: Uuid,
    reason: &str,
) -> Result<bool, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $3 \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            [session_id.into(), user_id.into(), reason.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes session `session_id` if `presented_hash` is its current refresh token; `false`
/// otherwise (so only the holder of the session's token can end it this way).
pub async fn revoke_presented(
    tx: &TenantTx,
    session_id: Uuid,
    presented_hash: Vec<u8>,
    reason: &str,
) -> Result<bool, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $3 \
             WHERE id = $1 AND refresh_token_hash = $2 AND revoked_at IS NULL",
            [session_id.into(), presented_hash.into(), reason.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live session of `user_id` but `except`; returns how many.
pub async fn revoke_all(
    tx: &TenantTx,
    user_id: Uuid,
    except: Option<Uuid>,
    reason: &str,
) -> Result<u64, AppError> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE sessions SET revoked_at = now(), revoked_reason = $3 \
             WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
            [user_id.into(), except.into(), reason.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// Ends the refresh families of person `person_id` in every dealership — those of sign-in
/// `only` if given, else all but those of sign-in `keep` — through the definer function (RLS
/// hides the other dealerships' rows); returns how many. The caller publishes
/// [`Revoked::Person`].
pub async fn end_person(
    tx: &TenantTx,
    person_id: Uuid,
    (only, keep): (Option<Uuid>, Option<Uuid>),
    reason: &str,
) -> Result<u64, AppError> {
    let ended = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM person_sessions_revoke($1, $2, $3, $4)",
            [person_id.into(), only.into(), keep.into(), reason.into()],
        ))
        .await?;
    Ok(ended.len() as u64)
}

/// Ends every session of `user_id` (of `dealership_id`) but `except`, as one audited,
/// announced change; the event belongs to the user's dealership, whoever acted.
pub async fn end_all(
    scope: &RequestScope,
    user_id: Uuid,
    dealership_id: Option<Uuid>,
    except: Option<Uuid>,
    reason: &str,
) -> Result<u64, AppError> {
    let ended = revoke_all(scope.tx(), user_id, except, reason).await?;
    let event = audit::Event {
        dealership_id,
        actor_id: Some(scope.principal().user_id),
        action: "session.revoked_all",
        target_type: "user",
        target_id: Some(user_id),
        changes: Some(serde_json::json!({"sessions": ended, "kept": except, "reason": reason})),
    };
    audit::record_in(scope, event).await?;
    scope.revoke(Revoked::User(user_id)).await?;
    Ok(ended)
}

/// The caller's own sessions, in the caller's own scope.
/// One of the person's live sessions, in whichever dealership (what `/auth/sessions` lists).
#[derive(Debug, FromQueryResult)]
pub struct OwnSession {
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub dealership_name: Option<String>,
    pub sign_in_id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
}

/// The caller's sessions in every dealership of theirs (the definer function reads what RLS
/// hides here), newest first.
pub async fn list_own(scope: &RequestScope) -> Result<Vec<OwnSession>, AppError> {
    Ok(
        OwnSession::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM person_sessions($1)",
            [scope.principal().person_id.into()],
        ))
        .all(scope.tx())
        .await?,
    )
}

/// Ends one of the caller's own sessions, in whichever dealership: revoked, audited here, and
/// announced to every replica when the scope commits; 404 if it is not theirs or already over.
pub async fn end_own(scope: &RequestScope, session_id: Uuid, reason: &str) -> Result<(), AppError> {
    let me = scope.principal();
    let row = scope
        .tx()
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT person_session_revoke($1, $2, $3) AS done",
            [me.person_id.into(), session_id.into(), reason.into()],
        ))
        .await?;
    if row.map(|r| r.try_get::<bool>("", "done")).transpose()? != Some(true) {
        return Err(AppError::NotFound("session"));
    }
    let event = audit::Event {
        dealership_id: me.dealership_id,
        actor_id: Some(me.user_id),
        action: "session.revoked",
        target_type: "session",
        target_id: Some(session_id),
        changes: Some(serde_json::json!({"user_id": me.user_id, "reason": reason})),
    };
    audit::record_in(scope, event).await?;
    scope.revoke(Revoked::Session(session_id)).await
}

/// Session `id`, if this scope sees it.
pub async fn find(tx: &TenantTx, id: Uuid) -> Result<Option<session::Model>, AppError> {
    Ok(session::Entity::find_by_id(id).one(tx).await?)
}

/// The sign-in session `id` belongs to (`None`: no such session in this scope).
pub async fn sign_in_of(tx: &TenantTx, id: Uuid) -> Result<Option<Uuid>, AppError> {
    Ok(session::Entity::find_by_id(id)
        .one(tx)
        .await?
        .map(|s| s.sign_in_id))
}

/// The sign-in the caller's session belongs to.
async fn own_sign_in(scope: &RequestScope) -> Result<Uuid, AppError> {
    sign_in_of(scope.tx(), scope.principal().session_id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Ends the caller's sessions in every dealership — those of their own sign-in (`Mine`, a
/// logout: every family it opened), all but those (`Others`, a new password) or all (`All`,
/// logout-all) — as one audited, announced change.
pub async fn end_sign_ins(
    scope: &RequestScope,
    which: SignIns,
    reason: &str,
) -> Result<u64, AppError> {
    let me = scope.principal();
    let span = match which {
        SignIns::Mine => (Some(own_sign_in(scope).await?), None),
        SignIns::Others => (None, Some(own_sign_in(scope).await?)),
        SignIns::All => (None, None),
    };
    let ended = end_person(scope.tx(), me.person_id, span, reason).await?;
    let event = audit::Event {
        dealership_id: me.dealership_id,
        actor_id: Some(me.user_id),
        action: if which == SignIns::Mine {
            "session.revoked"
        } else {
            "session.revoked_all"
        },
        target_type: "session",
        target_id: Some(me.session_id),
        changes: Some(serde_json::json!({"sessions": ended, "reason": reason})),
    };
    audit::record_in(scope, event).await?;
    scope.revoke(Revoked::Person(me.person_id)).await?;
    Ok(ended)
}

/// Which of the caller's sign-ins [`end_sign_ins`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIns {
    Mine,
    Others,
    All,
}
