//! `/.well-known/jwks.json`: the public keys that verify access tokens.

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
    /// The JSON Web Key Set of every key that may have signed a live access token.
    ///
    /// **Permissions:** anyone.
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self, state: Data<&AppState>) -> ApiResult<Json<Jwks>, set::Probe> {
        Ok(Json(state.auth.keys.jwks().clone()))
    }
}
