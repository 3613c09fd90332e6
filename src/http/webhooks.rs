//! `/api/v1/webhooks`: signed webhook endpoints of a dealership (its principal) or of the
//! platform (admins), their delivery log and manual redelivery. Making an endpoint and
//! rotating its secret need a recent second factor; the secret is in that answer only.

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
    entity::webhook_endpoint,
    service::{
        Page,
        webhooks::{
            Setup,
            deliveries::{self, Attempt},
            endpoints::{self, Draft},
        },
    },
    state::AppState,
};

/// An endpoint. Never its secret.
#[derive(Debug, Object)]
struct Webhook {
    id: Uuid,
    /// `null`: a platform endpoint (every dealership's events; admins only).
    dealership_id: Nullable<Uuid>,
    /// Where events are posted.
    url: String,
    description: Nullable<String>,
    /// The event types it receives.
    event_types: Vec<String>,
    /// `false`: nothing is sent or queued for it.
    enabled: bool,
    /// Why it is disabled: `manual`, or the run of failures that disabled it.
    disabled_reason: Nullable<String>,
    /// Failed attempts since the last delivered one.
    consecutive_failures: i32,
    /// Until when the secret before the last rotation still signs (beside the new one).
    previous_secret_valid_until: Nullable<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for Webhook {
    fn from(w: webhook_endpoint::Model) -> Self {
        let overlap = w.previous_expires_at.filter(|t| *t > Utc::now());
        Self {
            id: w.id,
            dealership_id: w.dealership_id.into(),
            url: w.url,
            description: w.description.into(),
            event_types: w.event_types,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.into(),
            consecutive_failures: w.consecutive_failures,
            previous_secret_valid_until: overlap.into(),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its signing secret (`whsec_…`), shown this once.
#[derive(Debug, Object)]
struct WebhookWithSecret {
    #[oai(flatten)]
    webhook: Webhook,
    /// Verify deliveries with it (Standard Webhooks); store it now, it is never shown again.
    secret: String,
}

/// An endpoint to register.
#[derive(Object)]
#[oai(example)]
struct NewWebhook {
    /// An `https://` URL (not to a loopback, private or link-local address).
    #[oai(deserialize_with = "json_string")]
    url: String,
    /// Of `user.created`, `user.updated`, `user.role_changed`, `user.deactivated`,
    /// `user.deleted`, `role.changed`, `session.revoked`, `mfa.enrolled`, `mfa.reset`,
    /// `invitation.accepted`, `dealership.suspended`, `policy.reloaded`,
    /// `service_account.created`, `service_account.revoked`.
    #[oai(deserialize_with = "json_strings")]
    event_types: Vec<String>,
    /// At most 200 characters.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    description: Option<String>,
    /// Default `true`.
    #[oai(nullable)]
    enabled: Option<bool>,
    /// Admins: the dealership whose events it receives; `null`: a platform endpoint. A
    /// principal's is always their own dealership's.
    #[oai(nullable)]
    dealership_id: Option<Uuid>,
}

impl Example for NewWebhook {
    fn example() -> Self {
        Self {
            url: "https://dms.example.com/hooks/dealergate".into(),
            event_types: vec!["user.created".into(), "user.deactivated".into()],
            description: Some("DMS staff sync".into()),
            enabled: None,
            dealership_id: None,
        }
    }
}

/// What to change; what is left out (or `null`) stays.
#[derive(Object, Default)]
#[oai(example)]
struct WebhookChange {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    url: Option<String>,
    #[oai(nullable, deserialize_with = "json_strings_or_null")]
    event_types: Option<Vec<String>>,
    /// `""` clears it.
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    description: Option<String>,
    /// `true` enables it again (its failure count starts over); `false` disables it.
    #[oai(nullable)]
    enabled: Option<bool>,
}

impl From<NewWebhook> for Draft {
    fn from(b: NewWebhook) -> Self {
        Self {
            url: Some(b.url),
            description: b.description,
            event_types: Some(b.event_types),
            enabled: b.enabled,
            dealership_id: b.dealership_id,
        }
    }
}

impl From<WebhookChange> for Draft {
    fn from(b: WebhookChange) -> Self {
        Self {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
            enabled: b.enabled,
            dealership_id: None,
        }
    }
}

impl Example for WebhookChange {
    fn example() -> Self {
        Self {
            enabled: Some(true),
            ..Self::default()
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Object)]
struct WebhookDelivery {
    id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt of it.
    event_id: Uuid,
    event_type: String,
    /// The event's place in its endpoint's order (commit order).
    sequence: Nullable<i64>,
    /// 1 for the first attempt of the event.
    attempt: i32,
    /// The receiver's status; `null` when no answer came.
    status: Nullable<i32>,
    duration_ms: i32,
    error: Nullable<String>,
    at: DateTime<Utc>,
}

impl From<Attempt> for WebhookDelivery {
    fn from(a: Attempt) -> Self {
        let d = a.delivery;
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: a.event_type,
            sequence: a.sequence.into(),
            attempt: d.attempt,
            status: d.status.into(),
            duration_ms: d.duration_ms,
            error: d.error.into(),
            at: d.at,
        }
    }
}

#[derive(ApiResponse)]
enum WebhookList {
    /// Newest first; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(Json<Vec<Webhook>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum DeliveryList {
    /// Newest first; `X-Total-Count` counts them all.
    #[oai(status = 200)]
    Ok(
        Json<Vec<WebhookDelivery>>,
        #[oai(header = "X-Total-Count")] u64,
    ),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<WebhookWithSecret>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum Queued {
    /// Due now; a sender delivers it shortly, with the same `webhook-id`.
    #[oai(status = 202)]
    Accepted,
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/api/v1/webhooks", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// The endpoints the caller manages.
    ///
    /// **Permissions:** `webhooks:list` (principal: own dealership; admin: all).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<WebhookList, set::Listing> {
        let scope = state.begin(&me, Resource::Webhooks, Action::List).await?;
        let (rows, total) = endpoints::list(&scope, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        Ok(WebhookList::Ok(
            Json(rows.into_iter().map(Into::into).collect()),
            total,
        ))
    }

    /// Register an endpoint. Its signing secret is in this answer and in no other.
    ///
    /// **Permissions:** `webhooks:create`, and a recent second factor.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(b): Json<NewWebhook>,
    ) -> ApiResult<Created, set::Reconfigure> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Create).await?;
        let setup = Setup::of(&state.auth.mfa, &state.settings.webhooks);
        let (made, secret) = endpoints::create(&scope, setup, b.into()).await?;
        scope.commit().await?;
        let secret = secret.expose().clone();
        Ok(Created::Created(Json(WebhookWithSecret {
            webhook: made.into(),
            secret,
        })))
    }

    /// One endpoint.
    ///
    /// **Permissions:** `webhooks:read`.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<Webhook>, set::Lookup> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Read).await?;
        let found = endpoints::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// Change an endpoint's URL, event types, description, or whether it is enabled.
    ///
    /// **Permissions:** `webhooks:update`.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(b): Json<WebhookChange>,
    ) -> ApiResult<Json<Webhook>, set::Reconfigure> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Update).await?;
        let setup = Setup::of(&state.auth.mfa, &state.settings.webhooks);
        let updated = endpoints::update(&scope, setup, id, b.into()).await?;
        scope.commit().await?;
        Ok(Json(updated.into()))
    }

    /// Delete an endpoint with its queued events and its log.
    ///
    /// **Permissions:** `webhooks:delete`.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Delete).await?;
        endpoints::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }

    /// Rotate the signing secret: the new one is in this answer only; the previous one keeps
    /// signing beside it for `webhooks.secret_overlap_secs` (a day by default).
    ///
    /// **Permissions:** `webhooks:update`, and a recent second factor.
    #[oai(path = "/:id/secret", method = "post")]
    async fn rotate_secret(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<WebhookWithSecret>, set::Lookup> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Update).await?;
        let setup = Setup::of(&state.auth.mfa, &state.settings.webhooks);
        let (rotated, secret) = endpoints::rotate_secret(&scope, setup, id).await?;
        scope.commit().await?;
        let secret = secret.expose().clone();
        Ok(Json(WebhookWithSecret {
            webhook: rotated.into(),
            secret,
        }))
    }

    /// The endpoint's delivery attempts, newest first.
    ///
    /// **Permissions:** `webhooks:read`.
    #[oai(path = "/:id/deliveries", method = "get")]
    async fn deliveries(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<DeliveryList, set::PartListing> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Read).await?;
        let page = Page::parse(limit, offset)?;
        let (rows, total) = deliveries::list(&scope, id, page).await?;
        scope.commit().await?;
        Ok(DeliveryList::Ok(
            Json(rows.into_iter().map(Into::into).collect()),
            total,
        ))
    }

    /// Deliver an event again (the same `webhook-id` and body), delivered or given up or not.
    ///
    /// **Permissions:** `webhooks:update`; 409 while the endpoint is disabled.
    #[oai(path = "/:id/events/:event_id/redeliver", method = "post")]
    async fn redeliver(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Path(event_id): Path<Uuid>,
    ) -> ApiResult<Queued, set::Transition> {
        let scope = state.begin(&me, Resource::Webhooks, Action::Update).await?;
        deliveries::redeliver(&scope, id, event_id).await?;
        scope.commit().await?;
        Ok(Queued::Accepted)
    }
}
