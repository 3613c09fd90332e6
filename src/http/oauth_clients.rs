//! `/api/v1/oauth-clients`: the apps that sign people in through dealergate's OpenID provider.
//! Admins only; every change needs a recent second factor and is audited. A confidential
//! client's secret is in the answer that makes it (registration, rotation) and in no other.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::{Nullable, json_string, json_string_or_null, json_strings, json_strings_or_null},
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    service::{
        Page,
        oauth::{
            registration::{Draft, Rules},
            registry::{self, Registered},
        },
    },
    state::AppState,
};

/// A registered OpenID client. Never its secret, nor a hash of one.
#[derive(Debug, Object)]
struct OAuthClient {
    /// Its `client_id` at `/oauth2/*`.
    id: Uuid,
    /// What the consent page calls it.
    name: String,
    /// `true`: it authenticates with its secret (`client_secret_basic` or
    /// `client_secret_post`); `false`: a public client (a SPA, a native app), PKCE alone.
    confidential: bool,
    /// The platform's own app: no consent page, and its access tokens are the API's own.
    first_party: bool,
    /// Where a sign-in may return, matched exactly (a loopback one on any port).
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return.
    post_logout_redirect_uris: Vec<String>,
    /// What it may ask for, of `openid`, `profile`, `email`, `phone`, `offline_access`,
    /// `dealership`.
    scopes: Vec<String>,
    /// How its ID tokens are signed: `ES256`, `RS256` or `EdDSA`.
    id_token_alg: String,
    /// Only members of these dealerships, or of these dealer groups (or their dealerships),
    /// may use it; both empty: anyone.
    dealership_ids: Vec<Uuid>,
    group_ids: Vec<Uuid>,
    /// `false`: disabled; nobody signs in to it and its refresh tokens were ended.
    is_active: bool,
    /// Its live secrets, newest first: a rotated one works until its `expires_at`.
    secrets: Vec<OAuthClientSecretAge>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// When a live secret was made and until when it works (`null`: until the overlap after the
/// next rotation).
#[derive(Debug, Object)]
struct OAuthClientSecretAge {
    created_at: DateTime<Utc>,
    expires_at: Nullable<DateTime<Utc>>,
}

impl From<Registered> for OAuthClient {
    fn from(r: Registered) -> Self {
        let c = r.client;
        Self {
            id: c.id,
            name: c.name,
            confidential: c.confidential,
            first_party: c.first_party,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            id_token_alg: c.id_token_alg,
            dealership_ids: c.dealership_ids.unwrap_or_default(),
            group_ids: c.group_ids.unwrap_or_default(),
            is_active: c.is_active,
            secrets: r
                .secrets
                .into_iter()
                .map(|s| OAuthClientSecretAge {
                    created_at: s.created_at,
                    expires_at: s.expires_at.into(),
                })
                .collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client just registered: for a confidential one, its secret, shown this once.
#[derive(Debug, Object)]
struct RegisteredOAuthClient {
    #[oai(flatten)]
    client: OAuthClient,
    /// The secret, for `client_secret_basic` or `client_secret_post`: store it now, it is
    /// never shown again. `null` for a public client.
    client_secret: Nullable<String>,
}

/// A client's new secret, shown this once; the previous one works until its `expires_at`.
#[derive(Debug, Object)]
struct RotatedOAuthClientSecret {
    #[oai(flatten)]
    client: OAuthClient,
    /// The new secret: store it now, it is never shown again.
    client_secret: String,
}

/// A client to register.
#[derive(Object)]
#[oai(example)]
struct NewOAuthClient {
    /// 1–100 characters.
    #[oai(deserialize_with = "json_string")]
    name: String,
    /// `true` for a server-side app that keeps a secret; `false` for a SPA or a native app.
    confidential: bool,
    /// 1–20 absolute URIs, matched exactly: https; http on a loopback address (any port, RFC
    /// 8252; `localhost` in dev too); or a native app's private-use scheme
    /// (`com.example.app:/cb`). No fragment, no credentials.
    #[oai(deserialize_with = "json_strings")]
    redirect_uris: Vec<String>,
    /// Of `openid` (required), `profile`, `email`, `phone`, `offline_access`, `dealership`.
    #[oai(deserialize_with = "json_strings")]
    scopes: Vec<String>,
    /// 0–20, as `redirect_uris`.
    #[oai(nullable, deserialize_with = "json_strings_or_null")]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Default `false`.
    #[oai(nullable)]
    first_party: Option<bool>,
    /// `ES256` (the default), `RS256` or `EdDSA`, as this server has keys for.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    id_token_alg: Option<String>,
    /// Confine it to members of these dealerships (at most 100); none: no confinement.
    #[oai(nullable)]
    dealership_ids: Option<Vec<Uuid>>,
    /// Confine it to members of these dealer groups and their dealerships (at most 100).
    #[oai(nullable)]
    group_ids: Option<Vec<Uuid>>,
}

impl Example for NewOAuthClient {
    fn example() -> Self {
        Self {
            name: "Desking".into(),
            confidential: true,
            redirect_uris: vec!["https://desking.example.com/oidc/callback".into()],
            scopes: vec!["openid".into(), "profile".into(), "dealership".into()],
            post_logout_redirect_uris: Some(vec!["https://desking.example.com/".into()]),
            first_party: Some(true),
            id_token_alg: None,
            dealership_ids: None,
            group_ids: None,
        }
    }
}

impl From<NewOAuthClient> for Draft {
    fn from(b: NewOAuthClient) -> Self {
        Self {
            name: Some(b.name),
            confidential: Some(b.confidential),
            first_party: b.first_party,
            redirect_uris: Some(b.redirect_uris),
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            scopes: Some(b.scopes),
            id_token_alg: b.id_token_alg,
            dealership_ids: b.dealership_ids,
            group_ids: b.group_ids,
            is_active: None,
        }
    }
}

/// What to change of a client; what is left out (or `null`) stays. Whether it is
/// confidential is settled at registration.
#[derive(Object, Default)]
#[oai(example)]
struct OAuthClientChange {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    name: Option<String>,
    #[oai(nullable, deserialize_with = "json_strings_or_null")]
    redirect_uris: Option<Vec<String>>,
    #[oai(nullable, deserialize_with = "json_strings_or_null")]
    post_logout_redirect_uris: Option<Vec<String>>,
    #[oai(nullable, deserialize_with = "json_strings_or_null")]
    scopes: Option<Vec<String>>,
    #[oai(nullable)]
    first_party: Option<bool>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    id_token_alg: Option<String>,
    /// An empty list lifts the confinement to dealerships (likewise `group_ids`).
    #[oai(nullable)]
    dealership_ids: Option<Vec<Uuid>>,
    #[oai(nullable)]
    group_ids: Option<Vec<Uuid>>,
    /// `false` disables it: its refresh tokens end at once, on every replica.
    #[oai(nullable)]
    is_active: Option<bool>,
}

impl Example for OAuthClientChange {
    fn example() -> Self {
        Self {
            name: Some("Desking (new)".into()),
            id_token_alg: Some("RS256".into()),
            ..Self::default()
        }
    }
}

impl From<OAuthClientChange> for Draft {
    fn from(b: OAuthClientChange) -> Self {
        Self {
            name: b.name,
            confidential: None,
            first_party: b.first_party,
            redirect_uris: b.redirect_uris,
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            scopes: b.scopes,
            id_token_alg: b.id_token_alg,
            dealership_ids: b.dealership_ids,
            group_ids: b.group_ids,
            is_active: b.is_active,
        }
    }
}

#[derive(ApiResponse)]
enum ClientList {
    /// A page of clients, newest first; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(Json<Vec<OAuthClient>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<RegisteredOAuthClient>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct OAuthClientsApi;

#[OpenApi(prefix_path = "/api/v1/oauth-clients", tag = "ApiTags::OauthClients")]
impl OAuthClientsApi {
    /// Every registered client.
    ///
    /// **Permissions:** `oauth_clients:list` at `any` scope.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<ClientList, set::Listing> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::List)
            .await?;
        let (rows, total) = registry::list(&scope, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        let rows = rows.into_iter().map(Into::into).collect();
        Ok(ClientList::Ok(Json(rows), total))
    }

    /// Register a client. A confidential one's secret is in this answer and in no other.
    ///
    /// **Permissions:** `oauth_clients:create` at `any` scope, and a recent second factor
    /// from a caller who has one (`403 step_up_required`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<NewOAuthClient>,
    ) -> ApiResult<Created, set::Register> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::Create)
            .await?;
        let registration = Draft::from(body).registration(&Rules::of(&state))?;
        let (client, secret) = registry::create(&scope, registration).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(RegisteredOAuthClient {
            client: client.into(),
            client_secret: secret.map(|s| s.expose().clone()).into(),
        })))
    }

    /// One client.
    ///
    /// **Permissions:** `oauth_clients:read` at `any` scope.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<OAuthClient>, set::Lookup> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::Read)
            .await?;
        let found = registry::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// Change a client; `is_active: false` disables it and ends its refresh tokens at once.
    ///
    /// **Permissions:** `oauth_clients:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<OAuthClientChange>,
    ) -> ApiResult<Json<OAuthClient>, set::Reconfigure> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::Update)
            .await?;
        let change = Draft::from(body).change(&Rules::of(&state))?;
        let updated = registry::update(&scope, id, change).await?;
        scope.commit().await?;
        Ok(Json(updated.into()))
    }

    /// Delete a client with its secrets, consents and codes; its refresh tokens end at once.
    ///
    /// **Permissions:** `oauth_clients:delete` at `any` scope, and a recent second factor.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::Delete)
            .await?;
        registry::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Rotate a confidential client's secret: the new one is in this answer and in no other;
    /// the previous one keeps working for `oidc.secret_overlap_secs` (a day by default). 409
    /// for a public client.
    ///
    /// **Permissions:** `oauth_clients:update` at `any` scope, and a recent second factor.
    #[oai(path = "/:id/secret", method = "post")]
    async fn rotate_secret(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<RotatedOAuthClientSecret>, set::Transition> {
        let scope = state
            .begin(&me, Resource::OauthClients, Action::Update)
            .await?;
        let overlap = state.settings.oidc.secret_overlap_secs;
        let (client, secret) = registry::rotate_secret(&scope, id, overlap).await?;
        scope.commit().await?;
        Ok(Json(RotatedOAuthClientSecret {
            client: client.into(),
            client_secret: secret.expose().clone(),
        }))
    }
}
