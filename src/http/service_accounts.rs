//! `/api/v1/service-accounts`: machine identities of a dealership, a dealer group or the
//! platform, and their API keys. A key (`dg_<key id>_<secret>`) is in the answer that makes it
//! (creation, rotation) and in no other; it is a bearer token of this API, and its key id and
//! secret are the `client_id` and `client_secret` of the client-credentials grant at
//! `/oauth2/token`.

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
    dto::{Nullable, json_string},
    error::{ApiResult, set},
    fields,
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{Role, RoleName, ServiceAccountName},
    error::AppError,
    service::{
        Page,
        service_accounts::{self, Described, IssuedKey, NewServiceAccount},
    },
    state::AppState,
};

/// A service account: never a secret, nor a hash of one.
#[derive(Debug, Object)]
struct ServiceAccount {
    id: Uuid,
    name: String,
    /// The built-in role: its rank, and what it may unless `custom_role_id` says more.
    role: Role,
    /// A custom role of its dealership (its base role is `role`), or `null`.
    custom_role_id: Nullable<Uuid>,
    /// `null` for a group's or the platform's account.
    dealership_id: Nullable<Uuid>,
    /// The dealer group of a group role's account; `null` otherwise.
    group_id: Nullable<Uuid>,
    /// The membership (`/users/{id}`) that made it.
    created_by: Uuid,
    created_at: DateTime<Utc>,
    /// When it was ended; `null` while it may be used.
    revoked_at: Nullable<DateTime<Utc>>,
    /// When it was disabled for disuse; `null` otherwise.
    disabled_at: Nullable<DateTime<Utc>>,
    /// Its latest use with any key or token (recorded at most once a minute).
    last_used_at: Nullable<DateTime<Utc>>,
    /// Its keys, newest first, revoked and expired ones included.
    keys: Vec<ServiceAccountKey>,
}

/// An API key: its id (the `client_id` of the client-credentials grant), never its secret.
#[derive(Debug, Object)]
struct ServiceAccountKey {
    id: Uuid,
    created_at: DateTime<Utc>,
    /// When it stops working (at most a year after it was made; a rotation brings it forward
    /// to the end of the overlap).
    expires_at: DateTime<Utc>,
    revoked_at: Nullable<DateTime<Utc>>,
    /// Its latest use and the address it came from (recorded at most once a minute).
    last_used_at: Nullable<DateTime<Utc>>,
    last_used_ip: Nullable<String>,
}

impl From<Described> for ServiceAccount {
    fn from(d: Described) -> Self {
        let a = d.account;
        Self {
            id: a.id,
            name: a.name,
            role: a.role,
            custom_role_id: a.custom_role_id.into(),
            dealership_id: a.dealership_id.into(),
            group_id: a.group_id.into(),
            created_by: a.created_by,
            created_at: a.created_at,
            revoked_at: a.revoked_at.into(),
            disabled_at: a.disabled_at.into(),
            last_used_at: a.last_used_at.into(),
            keys: d
                .keys
                .into_iter()
                .map(|k| ServiceAccountKey {
                    id: k.id,
                    created_at: k.created_at,
                    expires_at: k.expires_at,
                    revoked_at: k.revoked_at.into(),
                    last_used_at: k.last_used_at.into(),
                    last_used_ip: k.last_used_ip.into(),
                })
                .collect(),
        }
    }
}

/// An account with a key just made, shown this once.
#[derive(Debug, Object)]
struct ServiceAccountWithKey {
    #[oai(flatten)]
    account: ServiceAccount,
    /// `dg_<key id>_<secret>`: send it as `Authorization: Bearer …`. Store it now, it is never
    /// shown again.
    api_key: String,
    /// The new key's id: the `client_id` of the client-credentials grant.
    client_id: Uuid,
    /// The new key's secret alone: the `client_secret` of the client-credentials grant.
    client_secret: String,
    /// When the new key stops working.
    expires_at: DateTime<Utc>,
}

fn with_key(described: Described, issued: IssuedKey) -> ServiceAccountWithKey {
    ServiceAccountWithKey {
        account: described.into(),
        client_id: issued.key.id,
        expires_at: issued.key.expires_at,
        api_key: issued.api_key,
        client_secret: issued.secret,
    }
}

/// A service account to make.
#[derive(Object)]
#[oai(example)]
struct NewServiceAccountBody {
    /// 1–100 characters: what it is for.
    #[oai(deserialize_with = "json_string")]
    name: String,
    /// A built-in role up to the caller's own rank (`group_principal`, `group_manager` for a
    /// group's account), or the name of a custom role of the dealership whose every permission
    /// the caller holds.
    #[oai(deserialize_with = "json_string")]
    role: String,
    /// The dealership: required from an admin or a group principal for a dealership's role;
    /// a principal's accounts are their dealership's.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
    /// The dealer group of a group role: required from an admin; a group principal's are
    /// their group's.
    #[oai(nullable)]
    group_id: Option<Uuid>,
    /// How long its first key lives, 1–365 days (default `service_accounts.key_ttl_days`).
    #[oai(nullable)]
    expires_in_days: Option<i64>,
}

impl Example for NewServiceAccountBody {
    fn example() -> Self {
        Self {
            name: "DMS sync".into(),
            role: "manager".into(),
            dealership_id: None,
            group_id: None,
            expires_in_days: Some(90),
        }
    }
}

impl NewServiceAccountBody {
    fn parse(self) -> Result<NewServiceAccount, AppError> {
        let (name, role) = fields::check((
            ("name", ServiceAccountName::parse(&self.name)),
            ("role", RoleName::parse(&self.role)),
        ))?;
        Ok(NewServiceAccount {
            name,
            role,
            dealership_id: self.dealership_id,
            group_id: self.group_id,
            expires_in_days: self.expires_in_days,
        })
    }
}

#[derive(ApiResponse)]
enum AccountList {
    /// A page of service accounts, newest first; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(
        Json<Vec<ServiceAccount>>,
        #[oai(header = "X-Total-Count")] u64,
    ),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<ServiceAccountWithKey>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct ServiceAccountsApi;

#[OpenApi(
    prefix_path = "/api/v1/service-accounts",
    tag = "ApiTags::ServiceAccounts"
)]
impl ServiceAccountsApi {
    /// The service accounts in the caller's reach: a principal's dealership's, a group
    /// principal's group's and its dealerships', an admin's every one.
    ///
    /// **Permissions:** `service_accounts:list`.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<AccountList, set::Listing> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::List)
            .await?;
        let (rows, total) = service_accounts::list(&scope, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        Ok(AccountList::Ok(
            Json(rows.into_iter().map(Into::into).collect()),
            total,
        ))
    }

    /// Make a service account and its first key, which is in this answer and in no other.
    /// Its role is bounded by the caller's; a service account never makes one.
    ///
    /// **Permissions:** `service_accounts:create`, and a recent second factor from a caller
    /// who has one (`403 step_up_required`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<NewServiceAccountBody>,
    ) -> ApiResult<Created, set::CreateServiceAccount> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Create)
            .await?;
        let settings = &state.settings.service_accounts;
        let (made, key) = service_accounts::create(&scope, body.parse()?, settings).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(with_key(made, key))))
    }

    /// One service account with its keys.
    ///
    /// **Permissions:** `service_accounts:read`.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<ServiceAccount>, set::Lookup> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Read)
            .await?;
        let found = service_accounts::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// End a service account: every key and token of it stops working at once, on every
    /// replica. 409 if it was ended already.
    ///
    /// **Permissions:** `service_accounts:delete`.
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Transition> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Delete)
            .await?;
        service_accounts::revoke(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Rotate: a new key, in this answer and in no other; the older keys keep working for
    /// `service_accounts.key_overlap_secs` (a day by default). `expires_in_days` (1–365,
    /// default `service_accounts.key_ttl_days`) is how long the new key lives. 409 for an
    /// ended account.
    ///
    /// **Permissions:** `service_accounts:update`, and a recent second factor.
    #[oai(path = "/:id/keys", method = "post")]
    async fn rotate(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Query(expires_in_days): Query<Option<i64>>,
    ) -> ApiResult<Json<ServiceAccountWithKey>, set::RotateKey> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Update)
            .await?;
        let settings = &state.settings.service_accounts;
        let (account, key) =
            service_accounts::rotate(&scope, id, expires_in_days, settings).await?;
        scope.commit().await?;
        Ok(Json(with_key(account, key)))
    }

    /// Revoke one key at once, on every replica (its client-credentials tokens with it). 409
    /// if it was revoked already.
    ///
    /// **Permissions:** `service_accounts:update`.
    #[oai(path = "/:id/keys/:key_id", method = "delete")]
    async fn revoke_key(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Path(key_id): Path<Uuid>,
    ) -> ApiResult<Json<ServiceAccount>, set::Transition> {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Update)
            .await?;
        let account = service_accounts::revoke_key(&scope, id, key_id).await?;
        scope.commit().await?;
        Ok(Json(account.into()))
    }
}
