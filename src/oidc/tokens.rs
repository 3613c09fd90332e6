//! What the provider signs: the ID token (OpenID Connect Core §2), a third-party client's access
//! token (RFC 9068 `at+jwt`: its own audience, for userinfo and its own API only), and the
//! claims userinfo shows — each scope opens its claims, and the `dealership` scope shows only
//! the memberships the client may be used in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};
use uuid::Uuid;

use super::{
    Provider,
    keys::{Expect, IdAlg},
    request::{ACR_MFA, ACR_PWD},
};
use crate::{
    auth::jwt::{Authn, OTP, PWD},
    entity::{membership::Summary, user},
    error::AppError,
    service::oauth::{Client, client::DEALERSHIP},
};

/// `typ` of a third-party access token (RFC 9068 §2.1).
pub const AT_JWT: &str = "at+jwt";

/// How a sign-in was made, as the ID token says it.
pub struct Authentication {
    pub sign_in_id: Uuid,
    pub auth_time: i64,
    pub amr: Vec<String>,
}

impl Authentication {
    /// As the session's access tokens say it.
    pub fn of(sign_in_id: Uuid, authn: &Authn) -> Self {
        let mut amr = vec![PWD.to_owned()];
        if authn.otp {
            amr.push(OTP.to_owned());
        }
        Self {
            sign_in_id,
            auth_time: authn.auth_time,
            amr,
        }
    }

    pub fn acr(&self) -> &'static str {
        if self.amr.iter().any(|m| m == OTP) {
            ACR_MFA
        } else {
            ACR_PWD
        }
    }
}

/// The person's claims for `scopes`: `sub` always; names with `profile`, the address with
/// `email`, the phone with `phone`, and with `dealership` the active membership and those of
/// `visible` (the ones the client may be used in).
pub fn person_claims(
    user: &user::Model,
    visible: &[Summary],
    scopes: &[String],
) -> Map<String, Value> {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.person_id));
    if has("profile") {
        let name = format!("{} {}", user.first_name, user.last_name);
        claims.insert("name".into(), json!(name.trim()));
        claims.insert("given_name".into(), json!(user.first_name));
        claims.insert("family_name".into(), json!(user.last_name));
        claims.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert(
            "email_verified".into(),
            json!(user.email_verified_at.is_some()),
        );
    }
    if has("phone")
        && let Some(phone) = &user.phone
    {
        claims.insert("phone_number".into(), json!(phone));
        claims.insert("phone_number_verified".into(), json!(false));
    }
    if has(DEALERSHIP) {
        let active = visible.iter().find(|m| m.user_id == user.id);
        claims.insert("membership_id".into(), json!(user.id));
        claims.insert("dealership_id".into(), json!(user.dealership_id));
        claims.insert("dealership_name".into(), json!(user.dealership_name));
        claims.insert("group_id".into(), json!(user.group_id));
        claims.insert(
            "group_name".into(),
            json!(active.and_then(|m| m.group_name.clone())),
        );
        claims.insert("role".into(), json!(user.role));
        claims.insert("custom_role_id".into(), json!(user.custom_role_id));
        let memberships: Vec<Value> = visible.iter().map(membership_claim).collect();
        claims.insert("memberships".into(), Value::Array(memberships));
    }
    claims
}

fn membership_claim(m: &Summary) -> Value {
    json!({
        "membership_id": m.user_id,
        "dealership_id": m.dealership_id,
        "dealership_name": m.dealership_name,
        "group_id": m.group_id,
        "group_name": m.group_name,
        "role": m.role,
    })
}

/// An ID token for `client`: the person's claims, how and when they authenticated, `nonce`
/// from the request, and `at_hash` of the access token it comes with.
pub fn id_token(
    provider: &Provider,
    client: &Client,
    person: Map<String, Value>,
    authn: &Authentication,
    nonce: Option<&str>,
    access_token: &str,
    ttl_secs: u64,
) -> Result<String, AppError> {
    let alg = client.id_token_alg();
    let now = chrono::Utc::now().timestamp();
    let mut claims = person;
    for (name, value) in [
        ("iss", json!(provider.issuer)),
        ("aud", json!(client.id)),
        ("azp", json!(client.id)),
        ("iat", json!(now)),
        ("exp", json!(now + ttl_secs as i64)),
        ("auth_time", json!(authn.auth_time)),
        ("amr", json!(authn.amr)),
        ("acr", json!(authn.acr())),
        ("sid", json!(authn.sign_in_id)),
        ("at_hash", json!(at_hash(alg, access_token))),
    ] {
        claims.insert(name.into(), value);
    }
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    provider.keys.sign(alg, "JWT", &Value::Object(claims))
}

/// The left half of the token's hash, with the hash of the signing algorithm (OpenID Connect
/// Core §3.1.3.6; SHA-512 for Ed25519).
pub fn at_hash(alg: IdAlg, access_token: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let digest = match alg {
        IdAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        IdAlg::ES256 | IdAlg::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// A third-party client's access token: for userinfo and the client's own audience; the API
/// refuses it (another issuer, audience, type and key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientAccess {
    pub iss: String,
    pub sub: Uuid,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    /// The family (its liveness is checked as every access token's is).
    pub sid: Uuid,
    /// The membership.
    pub mid: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

pub fn client_access_token(
    provider: &Provider,
    client: &Client,
    user: &user::Model,
    family: Uuid,
    scopes: &[String],
    ttl_secs: u64,
) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = ClientAccess {
        iss: provider.issuer.clone(),
        sub: user.person_id,
        aud: client.id.to_string(),
        client_id: client.id.to_string(),
        scope: scopes.join(" "),
        sid: family,
        mid: user.id,
        dealership_id: user.dealership_id,
        group_id: user.group_id,
        iat: now,
        exp: now + ttl_secs as i64,
        jti: Uuid::now_v7(),
    };
    provider.keys.sign(IdAlg::ES256, AT_JWT, &claims)
}

/// The claims of a genuine, unexpired third-party access token (liveness not checked yet).
pub fn verify_client_access(provider: &Provider, token: &str) -> Result<ClientAccess, AppError> {
    let expect = Expect {
        issuer: &provider.issuer,
        audience: None,
        typ: AT_JWT,
        check_expiry: true,
    };
    provider.keys.verify(token, &expect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_algorithms_hash() {
        // OpenID Connect Core §A.3's example: access token and its at_hash (RS256, SHA-256)
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(at_hash(IdAlg::RS256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(IdAlg::ES256, token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(at_hash(IdAlg::EdDSA, token).len(), 43);
    }
}
