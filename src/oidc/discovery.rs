//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): what the provider
//! does, so any standard library configures itself from the issuer alone. Only what is built
//! is announced: the code flow with PKCE S256, no implicit flow, no password grant.

use poem::{
    handler,
    web::{Data, Json},
};
use serde_json::{Value, json};

use super::request::{ACR_MFA, ACR_PWD};
use crate::{service::oauth::client::SCOPES, state::AppState};

#[handler]
pub fn configuration(state: Data<&AppState>) -> Json<Value> {
    let oidc = &state.oidc;
    let algs: Vec<&str> = oidc.keys.algs().into_iter().map(|a| a.as_str()).collect();
    Json(json!({
        "issuer": oidc.issuer,
        "authorization_endpoint": oidc.url("/oauth2/authorize"),
        "token_endpoint": oidc.url("/oauth2/token"),
        "userinfo_endpoint": oidc.url("/oauth2/userinfo"),
        "jwks_uri": oidc.url("/.well-known/jwks.json"),
        "revocation_endpoint": oidc.url("/oauth2/revoke"),
        "introspection_endpoint": oidc.url("/oauth2/introspect"),
        "end_session_endpoint": oidc.url("/oauth2/logout"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": [ACR_PWD, ACR_MFA],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
            "at_hash", "name", "given_name", "family_name", "updated_at", "email",
            "email_verified", "phone_number", "phone_number_verified", "membership_id",
            "dealership_id", "dealership_name", "group_id", "group_name", "role",
            "custom_role_id", "memberships",
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    }))
}
