//! The endpoints: a principal's for their dealership, an admin's for any dealership or the
//! platform. Making one and rotating its secret need a recent second factor; the secret is in
//! the answer that makes it and in no other, sealed at rest (HMAC needs it readable). Every
//! change is audited (`webhook.created|updated|deleted|disabled|secret_rotated`), never with a
//! secret.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{EVENT_TYPES, Setup, managed, sealed_for};
use crate::{
    config::Secret,
    entity::{dealership, webhook_endpoint},
    error::{AppError, FieldError},
    scope::RequestScope,
    service::{Page, audit},
    webhooks::{guard, signing},
};

/// What to make or change; `None` leaves a field as it is (a new endpoint needs `url` and
/// `event_types`).
#[derive(Debug, Default)]
pub struct Draft {
    pub url: Option<String>,
    /// `Some("")` clears it.
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// An admin's endpoint for this dealership; `None`: the platform's (a principal's is
    /// always their own dealership's).
    pub dealership_id: Option<Uuid>,
}

/// 422 with every field that is wrong; the event types sorted, without repeats.
fn parse(draft: &mut Draft, setup: Setup<'_>) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(url) = &draft.url
        && let Err(why) = guard::check_url(url, setup.allow)
    {
        errors.push(FieldError::new("url", why));
    }
    if let Some(url) = &draft.url
        && url.len() > 2000
    {
        errors.push(FieldError::new("url", "must be at most 2000 characters"));
    }
    if let Some(text) = &draft.description
        && text.chars().count() > 200
    {
        errors.push(FieldError::new(
            "description",
            "must be at most 200 characters",
        ));
    }
    if let Some(types) = &mut draft.event_types {
        for (i, t) in types.iter().enumerate() {
            if !EVENT_TYPES.contains(&t.as_str()) {
                let known = EVENT_TYPES.join(", ");
                errors.push(FieldError::new(
                    format!("event_types.{i}"),
                    format!("must be one of {known}"),
                ));
            }
        }
        types.sort();
        types.dedup();
        if types.is_empty() {
            errors.push(FieldError::new(
                "event_types",
                "must name at least one event type",
            ));
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(AppError::Validation(errors)),
    }
}

/// The endpoints the caller manages, newest first, and how many there are.
pub async fn list(
    scope: &RequestScope,
    page: Page,
) -> Result<(Vec<webhook_endpoint::Model>, u64), AppError> {
    let mut query = webhook_endpoint::Entity::find()
        .order_by_desc(webhook_endpoint::Column::CreatedAt)
        .order_by_desc(webhook_endpoint::Column::Id);
    if let Some(own) = managed(scope)? {
        query = query.filter(webhook_endpoint::Column::DealershipId.eq(own));
    }
    let total = query.clone().count(scope.tx()).await?;
    let rows = query
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    Ok((rows, total))
}

/// One endpoint the caller manages; 404 for any other.
pub async fn get(scope: &RequestScope, id: Uuid) -> Result<webhook_endpoint::Model, AppError> {
    let mut query = webhook_endpoint::Entity::find_by_id(id);
    if let Some(own) = managed(scope)? {
        query = query.filter(webhook_endpoint::Column::DealershipId.eq(own));
    }
    query
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    endpoint: &webhook_endpoint::Model,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: endpoint.dealership_id,
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "webhook",
        target_id: Some(endpoint.id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}

/// The dealership a new endpoint belongs to: a principal's own; an admin's choice (a live
/// dealership, else 422), or none (the platform's).
async fn owner(scope: &RequestScope, asked: Option<Uuid>) -> Result<Option<Uuid>, AppError> {
    if let Some(own) = managed(scope)? {
        return match asked {
            Some(other) if other != own => Err(AppError::NotFound("dealership")),
            _ => Ok(Some(own)),
        };
    }
    let Some(id) = asked else { return Ok(None) };
    let live = dealership::Entity::find_by_id(id)
        .filter(dealership::Column::DeletedAt.is_null())
        .count(scope.tx())
        .await?;
    match live {
        0 => Err(AppError::Validation(vec![FieldError::new(
            "dealership_id",
            format!("no such dealership: {id}"),
        )])),
        _ => Ok(Some(id)),
    }
}

/// Registers an endpoint; its secret comes back this once.
pub async fn create(
    scope: &RequestScope,
    setup: Setup<'_>,
    mut draft: Draft,
) -> Result<(webhook_endpoint::Model, Secret<String>), AppError> {
    let dealership_id = owner(scope, draft.dealership_id).await?;
    let mut missing = Vec::new();
    if draft.url.is_none() {
        missing.push(FieldError::new("url", "is required"));
    }
    if draft.event_types.is_none() {
        missing.push(FieldError::new("event_types", "is required"));
    }
    if !missing.is_empty() {
        return Err(AppError::Validation(missing));
    }
    parse(&mut draft, setup)?;
    scope.require_step_up().await?;
    let id = Uuid::now_v7();
    let secret = signing::new_secret();
    let sealed = setup
        .sealer
        .seal(id, sealed_for(dealership_id), secret.as_bytes());
    let now = Utc::now();
    let created = webhook_endpoint::ActiveModel {
        id: Set(id),
        dealership_id: Set(dealership_id),
        url: Set(draft.url.unwrap_or_default()),
        description: Set(draft.description.filter(|d| !d.is_empty())),
        event_types: Set(draft.event_types.unwrap_or_default()),
        secret_sealed: Set(sealed),
        enabled: Set(draft.enabled.unwrap_or(true)),
        created_by: Set(Some(scope.principal().user_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(scope.tx())
    .await?;
    let changes = json!({
        "url": created.url,
        "event_types": created.event_types,
        "enabled": created.enabled,
    });
    record(scope, "webhook.created", &created, changes).await?;
    Ok((created, Secret::new(secret)))
}

/// Changes an endpoint. Enabling one clears its failure count; disabling it stops new events
/// for it (`webhook.disabled`, reason `manual`).
pub async fn update(
    scope: &RequestScope,
    setup: Setup<'_>,
    id: Uuid,
    mut draft: Draft,
) -> Result<webhook_endpoint::Model, AppError> {
    parse(&mut draft, setup)?;
    let target = get(scope, id).await?;
    let mut diff = Map::new();
    let mut active = target.clone().into_active_model();
    if let Some(url) = draft.url.filter(|u| *u != target.url) {
        // where events go is as sensitive as making the endpoint: a stolen password alone
        // must not point a dealership's history at another host
        scope.require_step_up().await?;
        diff.insert("url".into(), json!({"before": target.url, "after": url}));
        active.url = Set(url);
    }
    let description = draft.description.map(|d| Some(d).filter(|d| !d.is_empty()));
    if let Some(text) = description.filter(|d| *d != target.description) {
        diff.insert(
            "description".into(),
            json!({"before": target.description, "after": text}),
        );
        active.description = Set(text);
    }
    if let Some(types) = draft.event_types.filter(|t| *t != target.event_types) {
        diff.insert(
            "event_types".into(),
            json!({"before": target.event_types, "after": types}),
        );
        active.event_types = Set(types);
    }
    let toggled = draft.enabled.filter(|e| *e != target.enabled);
    if let Some(enabled) = toggled {
        diff.insert(
            "enabled".into(),
            json!({"before": target.enabled, "after": enabled}),
        );
        active.enabled = Set(enabled);
        active.disabled_reason = Set((!enabled).then(|| "manual".to_owned()));
        active.consecutive_failures = Set(0);
    }
    if diff.is_empty() {
        return Ok(target);
    }
    active.updated_at = Set(Utc::now());
    let updated = active.update(scope.tx()).await?;
    let action = match toggled {
        Some(false) => {
            diff.insert("reason".into(), json!("manual"));
            "webhook.disabled"
        }
        _ => "webhook.updated",
    };
    record(scope, action, &updated, Value::Object(diff)).await?;
    Ok(updated)
}

/// Deletes an endpoint with its outbox and log.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let target = get(scope, id).await?;
    webhook_endpoint::Entity::delete_by_id(id)
        .exec(scope.tx())
        .await?;
    record(
        scope,
        "webhook.deleted",
        &target,
        json!({"url": target.url}),
    )
    .await
}

/// A new secret, shown this once; the one it replaces keeps signing (beside it) for
/// `webhooks.secret_overlap_secs`.
pub async fn rotate_secret(
    scope: &RequestScope,
    setup: Setup<'_>,
    id: Uuid,
) -> Result<(webhook_endpoint::Model, Secret<String>), AppError> {
    let target = get(scope, id).await?;
    scope.require_step_up().await?;
    let secret = signing::new_secret();
    let sealed = setup
        .sealer
        .seal(id, sealed_for(target.dealership_id), secret.as_bytes());
    let now = Utc::now();
    let overlap_ends = now + Duration::seconds(setup.overlap_secs.min(i64::MAX as u64) as i64);
    let mut active = target.clone().into_active_model();
    active.previous_sealed = Set(Some(target.secret_sealed.clone()));
    active.previous_expires_at = Set(Some(overlap_ends));
    active.secret_sealed = Set(sealed);
    active.updated_at = Set(now);
    let updated = active.update(scope.tx()).await?;
    let changes = json!({"previous_valid_until": overlap_ends});
    record(scope, "webhook.secret_rotated", &updated, changes).await?;
    Ok((updated, Secret::new(secret)))
}
