//! Authorization codes: 256 random bits shown once (in the redirect), stored as their SHA-256
//! for about a minute, bound to the client, the redirect URI, the PKCE challenge, the sign-in
//! and the membership chosen. Spending one is a single definer call: the first exchange records
//! the family it opens; any later one learns that family, to revoke it (RFC 6749 §4.1.2).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{error::AppError, tenancy::TenantTx};

/// What a code carries, as the authorization endpoint issues it.
pub struct NewCode<'a> {
    pub client_id: Uuid,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub scopes: &'a [String],
    pub sign_in_id: Uuid,
    /// The membership the person chose.
    pub user_id: Uuid,
    pub auth_time: DateTime<Utc>,
    pub amr: Vec<String>,
}

/// A spent code: what it was bound to, and whether this was its first use.
#[derive(Debug, FromQueryResult)]
pub struct Redeemed {
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub sign_in_id: Uuid,
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub auth_time: DateTime<Utc>,
    pub amr: Vec<String>,
    pub expired: bool,
    pub first_use: bool,
    /// The family the first exchange opened.
    pub session_id: Option<Uuid>,
    /// Some family of the sign-in is still live (nobody signed out since).
    pub sign_in_live: bool,
}

fn hash(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// Stores a new code valid for `ttl_secs`; the code itself goes to the client only.
pub async fn issue(tx: &TenantTx, new: NewCode<'_>, ttl_secs: u64) -> Result<String, AppError> {
    let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT oauth_code_issue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        [
            hash(&code).into(),
            new.client_id.into(),
            new.redirect_uri.into(),
            new.code_challenge.map(str::to_owned).into(),
            new.nonce.map(str::to_owned).into(),
            new.scopes.to_vec().into(),
            new.sign_in_id.into(),
            new.user_id.into(),
            new.auth_time.into(),
            new.amr.into(),
            (ttl_secs.min(600) as i32).into(),
        ],
    ))
    .await?;
    Ok(code)
}

/// Spends `code`, naming `family` as the family its exchange opens; `None` for a code that
/// never existed (or was purged).
pub async fn redeem(tx: &TenantTx, code: &str, family: Uuid) -> Result<Option<Redeemed>, AppError> {
    if code.len() > 100 {
        return Ok(None);
    }
    Ok(Redeemed::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM oauth_code_redeem($1, $2)",
        [hash(code).into(), family.into()],
    ))
    .one(tx)
    .await?)
}

/// Whether `verifier` is the one whose S256 challenge is `challenge` (RFC 7636 §4.6).
pub fn verifier_matches(challenge: &str, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && super::client::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(challenge, verifier));
        assert!(!verifier_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(!verifier_matches(challenge, "short"));
    }
}
