//! What a person allowed a third-party client to see (OpenID Connect Core §3.1.2.4): asked once
//! per client and scope, remembered, listed on the person's own account page, and revocable —
//! revoking ends every family of that client of that person at once, in every dealership.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use crate::{
    auth::sessions::Revoked, error::AppError, scope::RequestScope, service::audit,
    tenancy::TenantTx,
};

/// Whether the person consented to every scope of `scopes` for `client`.
pub async fn covers(
    tx: &TenantTx,
    person: Uuid,
    client: Uuid,
    scopes: &[String],
) -> Result<bool, AppError> {
    #[derive(FromQueryResult)]
    struct Granted {
        scopes: Option<Vec<String>>,
    }
    let granted = Granted::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT oauth_consent_scopes($1, $2) AS scopes",
        [person.into(), client.into()],
    ))
    .one(tx)
    .await?
    .and_then(|g| g.scopes)
    .unwrap_or_default();
    Ok(scopes.iter().all(|s| granted.contains(s)))
}

pub async fn grant(
    tx: &TenantTx,
    person: Uuid,
    client: Uuid,
    scopes: &[String],
) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT oauth_consent_grant($1, $2, $3)",
        [person.into(), client.into(), scopes.to_vec().into()],
    ))
    .await?;
    Ok(())
}

/// An app the person consented to.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Consent {
    pub client_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub granted_at: DateTime<Utc>,
}

pub async fn list(tx: &TenantTx, person: Uuid) -> Result<Vec<Consent>, AppError> {
    Ok(Consent::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM oauth_consents_of($1)",
        [person.into()],
    ))
    .all(tx)
    .await?)
}

/// The caller's consents (the apps they allowed).
pub async fn list_own(scope: &RequestScope) -> Result<Vec<Consent>, AppError> {
    list(scope.tx(), scope.principal().person_id).await
}

/// Withdraws the caller's consent to `client`: its tokens of the caller die at once on every
/// replica (announced as the scope commits), audited; 404 if there was none.
pub async fn revoke_own(scope: &RequestScope, client: Uuid) -> Result<(), AppError> {
    let me = scope.principal();
    let ended = revoke(scope.tx(), me.person_id, client).await?;
    for family in &ended {
        scope.revoke(Revoked::Session(*family)).await?;
    }
    let event = audit::Event {
        dealership_id: me.dealership_id,
        actor_id: Some(me.user_id),
        action: "oauth.consent_revoked",
        target_type: "oauth_client",
        target_id: Some(client),
        changes: Some(serde_json::json!({ "sessions": ended.len() })),
    };
    audit::record_in(scope, event).await
}

/// Withdraws the consent and ends the client's families of the person (the caller announces
/// them); returns the families ended, or `NotFound` for no consent.
pub async fn revoke(tx: &TenantTx, person: Uuid, client: Uuid) -> Result<Vec<Uuid>, AppError> {
    #[derive(FromQueryResult)]
    struct Gone {
        gone: bool,
    }
    let gone = Gone::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT oauth_consent_revoke($1, $2) AS gone",
        [person.into(), client.into()],
    ))
    .one(tx)
    .await?
    .is_some_and(|g| g.gone);
    if !gone {
        return Err(AppError::NotFound("consent"));
    }
    end_families(tx, client, Some(person), "consent_revoked").await
}

/// Ends the live families of `client` (of `person`, or of everyone); the caller announces them.
pub async fn end_families(
    tx: &TenantTx,
    client: Uuid,
    person: Option<Uuid>,
    reason: &str,
) -> Result<Vec<Uuid>, AppError> {
    #[derive(FromQueryResult)]
    struct Ended {
        id: Uuid,
    }
    let ended = Ended::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id FROM oauth_client_sessions_revoke($1, $2, $3) AS id",
        [client.into(), person.into(), reason.into()],
    ))
    .all(tx)
    .await?;
    Ok(ended.into_iter().map(|e| e.id).collect())
}
