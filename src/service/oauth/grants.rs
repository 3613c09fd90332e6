//! The token endpoint's grants: a code becomes a refresh family of the chosen membership in the
//! browser's sign-in, stamped with the client (as `/auth/switch` opens one: a tenant row of
//! that membership's dealership); a client's refresh token rotates as every refresh token does,
//! and only for that client. What comes out is the API's own [`Issued`]; the provider decides
//! which of it the client sees.

use uuid::Uuid;

use super::{
    Client,
    client::OFFLINE_ACCESS,
    codes::{self, Redeemed},
};
use crate::{
    auth::{
        mfa::Standing,
        principal::scope_of,
        sessions::{Revoked, publish},
    },
    entity::membership::Summary,
    error::AppError,
    scope::RequestMeta,
    service::{
        audit,
        sessions::{self, Carried, ClientFamily},
        sign_in::{self, Issued, issue_in, open_family},
        users,
    },
    state::AppState,
    tenancy::{Scope, TenantTx},
};

/// What a grant hands the client: the API's tokens of the family, and what the ID token says.
pub struct Granted {
    pub issued: Issued,
    pub scopes: Vec<String>,
    /// From the authorization request (a refresh carries none).
    pub nonce: Option<String>,
    /// The sign-in (the ID token's `sid`: what logout ends).
    pub sign_in_id: Uuid,
    /// The person's memberships the client may be used in (what its tokens may show).
    pub visible: Vec<Summary>,
}

impl Granted {
    /// Whether the client gets the refresh token (it asked for `offline_access`).
    pub fn offline(&self) -> bool {
        self.scopes.iter().any(|s| s == OFFLINE_ACCESS)
    }
}

/// Why a grant is refused: `invalid_grant` with what was wrong, or another failure.
#[derive(Debug)]
pub enum Refused {
    Grant(&'static str),
    Other(AppError),
}

impl From<AppError> for Refused {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthenticated => Refused::Grant("the grant is not valid"),
            other => Refused::Other(other),
        }
    }
}

/// The code in the request (`redirect_uri` and the PKCE `verifier` as the client sent them).
pub struct Exchange<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub verifier: Option<&'a str>,
}

/// `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): spends the code and opens the family.
pub async fn exchange(
    state: &AppState,
    client: &Client,
    presented: Exchange<'_>,
    meta: &RequestMeta,
) -> Result<Granted, Refused> {
    let family = Uuid::now_v7();
    let tx = state.db.begin(Scope::Anonymous).await?;
    let code = codes::redeem(&tx, presented.code, family).await?;
    tx.commit().await?;
    let code = code.ok_or(Refused::Grant("the code is not valid"))?;
    if !code.first_use {
        end_reused(state, &code, meta).await?;
        return Err(Refused::Grant(
            "the code was used already: what it issued is revoked",
        ));
    }
    if let Err(why) = check(client, &code, &presented) {
        refused(state, client, &code, why, meta).await?;
        return Err(Refused::Grant(why));
    }
    let tx = state
        .db
        .begin(scope_of(code.dealership_id, code.group_id))
        .await?;
    let user = users::find_signable(&tx, code.user_id)
        .await?
        .ok_or(Refused::Grant("the membership can no longer sign in"))?;
    if client.usable_by(&tx, &[user.id]).await?.is_empty() {
        return Err(Refused::Grant(
            "this app may not be used in that dealership",
        ));
    }
    let otp = code.amr.iter().any(|m| m == crate::auth::jwt::OTP);
    let bound = ClientFamily {
        client_id: client.id,
        scopes: code.scopes.clone(),
    };
    let ids = (family, code.sign_in_id);
    let carried = Carried {
        authenticated_at: Some(code.auth_time),
        mfa_at: otp.then_some(code.auth_time),
    };
    let refresh = open_family(state, &tx, &user, meta, ids, carried, Some(bound)).await?;
    let user = users::touch_last_login(&tx, user).await?;
    record(
        &tx,
        meta,
        client,
        &user,
        family,
        "authorization_code",
        &code.scopes,
    )
    .await?;
    let issued = issue_in(state, &tx, user, refresh).await?;
    if issued.standing == Standing::MustEnrol {
        return Err(Refused::Grant(
            "this dealership requires a second factor: enrol one at the console first",
        ));
    }
    let visible = visible(&tx, client, &issued.memberships).await?;
    tx.commit().await?;
    Ok(Granted {
        issued,
        scopes: code.scopes,
        nonce: code.nonce,
        sign_in_id: code.sign_in_id,
        visible,
    })
}

/// A refused exchange of a genuine code, in the audit log of the code's dealership (what was
/// presented, by which client, and why it was refused).
async fn refused(
    state: &AppState,
    client: &Client,
    code: &Redeemed,
    why: &'static str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let tx = state
        .db
        .begin(scope_of(code.dealership_id, code.group_id))
        .await?;
    let event = audit::Event {
        dealership_id: code.dealership_id,
        actor_id: None,
        action: "oauth.grant_refused",
        target_type: "oauth_client",
        target_id: Some(client.id),
        changes: Some(serde_json::json!({
            "reason": why, "code_client_id": code.client_id, "user_id": code.user_id,
        })),
    };
    audit::record(&tx, meta, event).await?;
    tx.commit().await
}

/// What the code was bound to, against what the client presents (RFC 6749 §4.1.3).
fn check(client: &Client, code: &Redeemed, presented: &Exchange) -> Result<(), &'static str> {
    if code.client_id != client.id {
        return Err("the code was issued to another client");
    }
    if code.expired {
        return Err("the code has expired");
    }
    if !code.sign_in_live {
        return Err("the sign-in that approved the code has ended");
    }
    if presented.redirect_uri != Some(code.redirect_uri.as_str()) {
        return Err("redirect_uri is not the one of the authorization request");
    }
    match (&code.code_challenge, presented.verifier) {
        (Some(challenge), Some(verifier)) if codes::verifier_matches(challenge, verifier) => Ok(()),
        (Some(_), _) => Err("code_verifier does not match the code_challenge"),
        (None, Some(_)) => Err("code_verifier sent for a code issued without a code_challenge"),
        (None, None) => Ok(()),
    }
}

/// A code presented again (RFC 6749 §4.1.2): the family its first exchange opened ends at once
/// on every replica, audited.
async fn end_reused(state: &AppState, code: &Redeemed, meta: &RequestMeta) -> Result<(), AppError> {
    let Some(family) = code.session_id else {
        return Ok(());
    };
    let tx = state
        .db
        .begin(scope_of(code.dealership_id, code.group_id))
        .await?;
    if sessions::revoke(&tx, code.user_id, family, "code_reuse").await? {
        publish(&tx, Revoked::Session(family)).await?;
    }
    let event = audit::Event {
        dealership_id: code.dealership_id,
        actor_id: None,
        action: "oauth.code_reused",
        target_type: "session",
        target_id: Some(family),
        changes: Some(serde_json::json!({ "client_id": code.client_id, "revoked": true })),
    };
    audit::record(&tx, meta, event).await?;
    tx.commit().await?;
    state.auth.sessions.apply(Revoked::Session(family)).await;
    tracing::warn!(session_id = %family, "authorization code reused: its family is revoked");
    Ok(())
}

/// `refresh_token` (RFC 6749 §6): rotates the client's own family; any other token is
/// refused as if unknown.
pub async fn refresh(
    state: &AppState,
    client: &Client,
    raw: &str,
    meta: &RequestMeta,
) -> Result<Granted, Refused> {
    let issued = sign_in::refresh(state, raw, Some(client.id), meta).await?;
    let family = issued.refresh_token.session_id;
    let tx = state
        .db
        .begin_reading(scope_of(issued.user.dealership_id, issued.user.group_id))
        .await?;
    let session = sessions::find(&tx, family)
        .await?
        .ok_or(Refused::Grant("the grant is not valid"))?;
    let visible = visible(&tx, client, &issued.memberships).await?;
    tx.commit().await?;
    // the registration as it is now: a dealership the client was confined away from, a scope
    // taken from it, or a second factor the dealership now requires ends the grant here
    if !visible.iter().any(|m| m.user_id == issued.user.id) {
        return Err(Refused::Grant(
            "this app may no longer be used in that dealership",
        ));
    }
    if issued.standing == Standing::MustEnrol {
        return Err(Refused::Grant(
            "this dealership requires a second factor: enrol one at the console first",
        ));
    }
    let scopes = session
        .client_scopes
        .unwrap_or_default()
        .into_iter()
        .filter(|s| client.allows_scope(s))
        .collect();
    Ok(Granted {
        issued,
        scopes,
        nonce: None,
        sign_in_id: session.sign_in_id,
        visible,
    })
}

/// The memberships of `all` that `client` may be used in.
pub async fn visible(
    tx: &TenantTx,
    client: &Client,
    all: &[Summary],
) -> Result<Vec<Summary>, AppError> {
    let ids: Vec<Uuid> = all.iter().map(|m| m.user_id).collect();
    let usable = client.usable_by(tx, &ids).await?;
    Ok(all
        .iter()
        .filter(|m| usable.contains(&m.user_id))
        .cloned()
        .collect())
}

/// Every token issued to a client is in the audit log (RFC 9700 §4.x: what was issued to whom).
async fn record(
    tx: &TenantTx,
    meta: &RequestMeta,
    client: &Client,
    user: &crate::entity::user::Model,
    family: Uuid,
    grant: &str,
    scopes: &[String],
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: user.dealership_id,
        actor_id: Some(user.id),
        action: "oauth.token_issued",
        target_type: "session",
        target_id: Some(family),
        changes: Some(serde_json::json!({
            "client_id": client.id, "client": client.name, "grant_type": grant, "scopes": scopes,
        })),
    };
    audit::record(tx, meta, event).await
}
