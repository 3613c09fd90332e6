//! `/.well-known/jwks.json`: the public keys that verify access tokens and the tokens the
//! OpenID provider signs for its clients.

use poem::web::Data;
use poem_openapi::{OpenApi, payload::Json};

use super::{
    ApiTags,
    error::{ApiResult, set},
};
use crate::{auth::keys::Jwks, state::AppState};

pub struct WellKnownApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl WellKnownApi {
    /// The JSON Web Key Set of every key that may have signed a live token: the access tokens'
    /// (Ed25519, first) and the ID tokens' (ES256, RS256, EdDSA), current and retired.
    ///
    /// **Permissions:** anyone.
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self, state: Data<&AppState>) -> ApiResult<Json<Jwks>, set::Probe> {
        let mut jwks = state.auth.keys.jwks().clone();
        jwks.keys.extend(state.oidc.keys.jwks());
        Ok(Json(jwks))
    }
}
