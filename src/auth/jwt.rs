//! Access tokens: EdDSA JWTs with a `kid`, verified with the algorithm pinned.

use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{keys::KeySet, mfa::Standing};
use crate::{config::AuthSettings, domain::Role, error::AppError};

pub const ACCESS: &str = "access";
/// Clock skew tolerated between replicas, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The person: the same in every dealership they sign in to (an OpenID subject).
    pub sub: Uuid,
    /// The membership the token acts as (its id is the `/users/{id}` one). Absent from tokens
    /// issued before people had several: there the person's id is the membership's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<Uuid>,
    /// The membership's dealership; `None` for platform admins and group memberships.
    pub dealership_id: Option<Uuid>,
    /// The dealer group of a group membership (`group_principal`, `group_manager`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Uuid>,
    pub role: Role,
    /// The user's custom role (its base role is `role`), if they hold one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_role: Option<Uuid>,
    /// The session (login) this token belongs to.
    pub sid: Uuid,
    /// The person's credential generation when issued: bumping it kills the token.
    pub ver: i32,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// Always `access`: a token of another type is refused.
    pub typ: String,
    /// How the session was authenticated (RFC 8176): `["pwd"]`, or `["pwd", "otp"]` once a
    /// second factor was proven.
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the user last authenticated: the sign-in, or the latest second factor proven.
    #[serde(default)]
    pub auth_time: i64,
    /// Where the user stands with the second factor (a `must_enrol` token may only enrol).
    #[serde(default)]
    pub mfa: Standing,
    /// A service account's token (the client-credentials grant): `sub` and `mid` are the
    /// account, `sid` the key it authenticated with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sa: bool,
}

impl AccessClaims {
    /// The membership the token acts as.
    pub fn membership_id(&self) -> Uuid {
        self.mid.unwrap_or(self.sub)
    }

    /// When the second factor was last proven in this session, if it was.
    pub fn otp_at(&self) -> Option<i64> {
        self.amr.iter().any(|m| m == OTP).then_some(self.auth_time)
    }
}

/// The `amr` values (RFC 8176 §2).
pub const PWD: &str = "pwd";
pub const OTP: &str = "otp";

/// Who a token is for, as the issuer needs it.
pub struct Subject {
    pub person_id: Uuid,
    /// The membership.
    pub user_id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub role: Role,
    pub custom_role: Option<Uuid>,
    pub session_id: Uuid,
    pub token_version: i32,
    /// How and when the session was authenticated.
    pub authn: Authn,
}

/// How a session was authenticated, as its tokens say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authn {
    /// The sign-in, or the latest second factor proven (unix seconds).
    pub auth_time: i64,
    /// A second factor was proven in this session.
    pub otp: bool,
    pub standing: Standing,
}

pub fn issue(keys: &KeySet, auth: &AuthSettings, subject: &Subject) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        iss: auth.issuer.clone(),
        aud: auth.audience.clone(),
        sub: subject.person_id,
        mid: Some(subject.user_id),
        dealership_id: subject.dealership_id,
        group_id: subject.group_id,
        role: subject.role,
        custom_role: subject.custom_role,
        sid: subject.session_id,
        ver: subject.token_version,
        iat: now,
        nbf: now,
        exp: now + auth.access_token_ttl_secs as i64,
        jti: Uuid::now_v7(),
        typ: ACCESS.into(),
        amr: if subject.authn.otp {
            vec![PWD.into(), OTP.into()]
        } else {
            vec![PWD.into()]
        },
        auth_time: subject.authn.auth_time,
        mfa: subject.authn.standing,
        sa: false,
    };
    sign(keys, &claims)
}

/// A service account's access token (the client-credentials grant), as short-lived as a
/// person's: it names the account and the key it authenticated with, so revoking either ends
/// it at once.
pub fn issue_machine(
    keys: &KeySet,
    auth: &AuthSettings,
    key: &super::service_accounts::KeyState,
) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        iss: auth.issuer.clone(),
        aud: auth.audience.clone(),
        sub: key.service_account_id,
        mid: Some(key.service_account_id),
        dealership_id: key.dealership_id,
        group_id: key.group_id,
        role: key.role,
        custom_role: key.custom_role_id,
        sid: key.key_id,
        ver: 0,
        iat: now,
        nbf: now,
        exp: now + auth.access_token_ttl_secs as i64,
        jti: Uuid::now_v7(),
        typ: ACCESS.into(),
        amr: Vec::new(),
        auth_time: now,
        mfa: Standing::Optional,
        sa: true,
    };
    sign(keys, &claims)
}

fn sign(keys: &KeySet, claims: &AccessClaims) -> Result<String, AppError> {
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header.typ = Some("JWT".into());
    encode(&header, claims, key).map_err(AppError::internal)
}

/// The claims of a genuine, current access token; the reason for a refusal goes to `debug` only.
pub fn verify(keys: &KeySet, auth: &AuthSettings, token: &str) -> Result<AccessClaims, AppError> {
    verify_with(keys, auth, token, true)
}

/// The claims of a genuine access token, expired or not: what the console reads to renew an
/// expired token of a session it holds, and to tell how long that session has been idle.
pub fn verify_even_expired(
    keys: &KeySet,
    auth: &AuthSettings,
    token: &str,
) -> Result<AccessClaims, AppError> {
    verify_with(keys, auth, token, false)
}

fn verify_with(
    keys: &KeySet,
    auth: &AuthSettings,
    token: &str,
    check_expiry: bool,
) -> Result<AccessClaims, AppError> {
    let refuse = |why: &dyn std::fmt::Display| {
        tracing::debug!(reason = %why, "access token refused");
        AppError::Unauthenticated
    };
    let header = decode_header(token).map_err(|e| refuse(&e))?;
    if header.alg != Algorithm::EdDSA {
        return Err(refuse(&format!("algorithm {:?}", header.alg)));
    }
    let kid = header.kid.ok_or_else(|| refuse(&"no kid"))?;
    let key = keys.verifying(&kid).ok_or_else(|| refuse(&"unknown kid"))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&auth.issuer]);
    validation.set_audience(&[&auth.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.validate_exp = check_expiry;
    validation.leeway = LEEWAY_SECS;
    let claims = decode::<AccessClaims>(token, key, &validation)
        .map_err(|e| refuse(&e))?
        .claims;
    if claims.typ != ACCESS {
        return Err(refuse(&format!("token type {}", claims.typ)));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            person_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            dealership_id: Some(Uuid::now_v7()),
            group_id: None,
            role: Role::Agent,
            custom_role: None,
            session_id: Uuid::now_v7(),
            token_version: 3,
            authn: Authn {
                auth_time: 1_700_000_000,
                otp: true,
                standing: Standing::Enrolled,
            },
        }
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let auth = AuthSettings::default();
        let keys = KeySet::from_settings(&auth).unwrap();
        let s = subject();
        let claims = verify(&keys, &auth, &issue(&keys, &auth, &s).unwrap()).unwrap();
        assert_eq!(
            (claims.sub, claims.membership_id(), claims.sid, claims.ver),
            (s.person_id, s.user_id, s.session_id, 3)
        );
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.typ, "access");
        assert_eq!(claims.amr, ["pwd", "otp"]);
        assert_eq!(claims.otp_at(), Some(1_700_000_000));
        assert_eq!(claims.mfa, Standing::Enrolled);
    }

    #[test]
    fn another_replicas_key_is_not_trusted() {
        let auth = AuthSettings::default();
        let ours = KeySet::from_settings(&auth).unwrap();
        let theirs = KeySet::from_settings(&auth).unwrap();
        let token = issue(&theirs, &auth, &subject()).unwrap();
        assert!(matches!(
            verify(&ours, &auth, &token),
            Err(AppError::Unauthenticated)
        ));
    }
}
