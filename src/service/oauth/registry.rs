//! The client registry: the apps that sign people in through dealergate. A platform matter
//! (admins, at `any` reach, with a recent second factor for every change); every change
//! audited, never with a secret. A confidential client's secret is shown once, when it is made,
//! and stored as its SHA-256; a rotation keeps the previous one working for
//! `oidc.secret_overlap_secs`. Disabling or deleting a client ends every refresh family it
//! holds, on every replica, in the transaction of the change.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::Expr,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    client::new_secret,
    registration::{Change, Registration},
};
use crate::{
    auth::sessions::Revoked,
    authz::Reach,
    config::Secret,
    entity::{dealer_group, dealership, oauth_client, oauth_client_secret},
    error::{AppError, FieldError},
    scope::RequestScope,
    service::{Page, audit},
};

/// A client as the registry shows it: never a secret, nor the hash of one.
pub struct Registered {
    pub client: oauth_client::Model,
    /// Its live secrets, newest first (none for a public client).
    pub secrets: Vec<SecretAge>,
}

/// When a live secret was made, and when it stops working (`None`: when the next rotation's
/// overlap ends).
pub struct SecretAge {
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// 403 unless the caller acts at platform reach: the registry is the platform's.
fn platform(scope: &RequestScope) -> Result<(), AppError> {
    match scope.reach() {
        Reach::Any => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// A change: platform reach and a recent second factor.
async fn changing(scope: &RequestScope) -> Result<(), AppError> {
    platform(scope)?;
    scope.require_step_up().await
}

/// The live secrets of `clients`, by client, newest first.
async fn secrets_of(
    scope: &RequestScope,
    clients: &[Uuid],
) -> Result<Vec<oauth_client_secret::Model>, AppError> {
    let live = Condition::any()
        .add(oauth_client_secret::Column::ExpiresAt.is_null())
        .add(oauth_client_secret::Column::ExpiresAt.gt(Utc::now()));
    Ok(oauth_client_secret::Entity::find()
        .filter(oauth_client_secret::Column::ClientId.is_in(clients.to_vec()))
        .filter(live)
        .order_by_desc(oauth_client_secret::Column::CreatedAt)
        .all(scope.tx())
        .await?)
}

fn registered(client: oauth_client::Model, secrets: &[oauth_client_secret::Model]) -> Registered {
    let secrets = secrets
        .iter()
        .filter(|s| s.client_id == client.id)
        .map(|s| SecretAge {
            created_at: s.created_at,
            expires_at: s.expires_at,
        })
        .collect();
    Registered { client, secrets }
}

async fn with_secrets(
    scope: &RequestScope,
    client: oauth_client::Model,
) -> Result<Registered, AppError> {
    let secrets = secrets_of(scope, &[client.id]).await?;
    Ok(registered(client, &secrets))
}

/// Every client, newest first, and how many there are.
pub async fn list(scope: &RequestScope, page: Page) -> Result<(Vec<Registered>, u64), AppError> {
    platform(scope)?;
    let query = oauth_client::Entity::find()
        .order_by_desc(oauth_client::Column::CreatedAt)
        .order_by_desc(oauth_client::Column::Id);
    let total = query.clone().count(scope.tx()).await?;
    let rows = query
        .limit(page.limit)
        .offset(page.offset)
        .all(scope.tx())
        .await?;
    // every listed client's secrets in one query, not one per client
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let secrets = secrets_of(scope, &ids).await?;
    let clients = rows.into_iter().map(|c| registered(c, &secrets)).collect();
    Ok((clients, total))
}

async fn find(scope: &RequestScope, id: Uuid) -> Result<oauth_client::Model, AppError> {
    platform(scope)?;
    oauth_client::Entity::find_by_id(id)
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("client"))
}

pub async fn get(scope: &RequestScope, id: Uuid) -> Result<Registered, AppError> {
    let client = find(scope, id).await?;
    with_secrets(scope, client).await
}

async fn record(
    scope: &RequestScope,
    action: &'static str,
    id: Uuid,
    changes: Value,
) -> Result<(), AppError> {
    let event = audit::Event {
        dealership_id: None,
        actor_id: Some(scope.principal().user_id),
        action,
        target_type: "oauth_client",
        target_id: Some(id),
        changes: Some(changes),
    };
    audit::record_in(scope, event).await
}

/// 422 naming each dealership or group a client would be confined to that does not exist
/// (deleted dealerships included).
async fn check_places(
    scope: &RequestScope,
    dealership_ids: Option<&Vec<Uuid>>,
    group_ids: Option<&Vec<Uuid>>,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(ids) = dealership_ids {
        let found: Vec<Uuid> = dealership::Entity::find()
            .filter(dealership::Column::Id.is_in(ids.clone()))
            .filter(dealership::Column::DeletedAt.is_null())
            .select_only()
            .column(dealership::Column::Id)
            .into_tuple()
            .all(scope.tx())
            .await?;
        missing(
            &mut errors,
            "dealership_ids",
            ids,
            &found,
            "no such dealership",
        );
    }
    if let Some(ids) = group_ids {
        let found: Vec<Uuid> = dealer_group::Entity::find()
            .filter(dealer_group::Column::Id.is_in(ids.clone()))
            .select_only()
            .column(dealer_group::Column::Id)
            .into_tuple()
            .all(scope.tx())
            .await?;
        missing(
            &mut errors,
            "group_ids",
            ids,
            &found,
            "no such dealer group",
        );
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(AppError::Validation(errors)),
    }
}

fn missing(errors: &mut Vec<FieldError>, field: &str, ids: &[Uuid], found: &[Uuid], what: &str) {
    for (i, id) in ids.iter().enumerate().filter(|(_, id)| !found.contains(id)) {
        errors.push(FieldError::new(
            format!("{field}.{i}"),
            format!("{what}: {id}"),
        ));
    }
}

/// Stores a new secret of client `id`; the secret itself, to be shown once.
async fn add_secret(scope: &RequestScope, id: Uuid) -> Result<Secret<String>, AppError> {
    let (secret, hash) = new_secret();
    oauth_client_secret::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(id),
        secret_hash: Set(hash),
        created_at: Set(Utc::now()),
        expires_at: Set(None),
    }
    .insert(scope.tx())
    .await?;
    Ok(Secret::new(secret))
}

/// Registers a client; a confidential one comes with its secret, shown this once.
pub async fn create(
    scope: &RequestScope,
    new: Registration,
) -> Result<(Registered, Option<Secret<String>>), AppError> {
    changing(scope).await?;
    check_places(scope, new.dealership_ids.as_ref(), new.group_ids.as_ref()).await?;
    let now = Utc::now();
    let created = oauth_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name.into_inner()),
        confidential: Set(new.confidential),
        first_party: Set(new.first_party),
        redirect_uris: Set(new.redirect_uris),
        post_logout_redirect_uris: Set(new.post_logout_redirect_uris),
        scopes: Set(new.scopes),
        id_token_alg: Set(new.id_token_alg.as_str().to_owned()),
        dealership_ids: Set(new.dealership_ids),
        group_ids: Set(new.group_ids),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(scope.tx())
    .await?;
    let secret = match created.confidential {
        true => Some(add_secret(scope, created.id).await?),
        false => None,
    };
    let changes = json!({
        "name": created.name,
        "confidential": created.confidential,
        "first_party": created.first_party,
        "redirect_uris": created.redirect_uris,
        "post_logout_redirect_uris": created.post_logout_redirect_uris,
        "scopes": created.scopes,
        "id_token_alg": created.id_token_alg,
        "dealership_ids": created.dealership_ids,
        "group_ids": created.group_ids,
    });
    record(scope, "oauth_client.created", created.id, changes).await?;
    Ok((with_secrets(scope, created).await?, secret))
}

/// Ends every live refresh family of client `id`, in every dealership, and announces each to
/// every replica when the scope commits; how many.
async fn end_families(scope: &RequestScope, id: Uuid, reason: &str) -> Result<u64, AppError> {
    let ended = scope
        .tx()
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM oauth_client_sessions_revoke($1, NULL, $2) AS id",
            [id.into(), reason.into()],
        ))
        .await?;
    for row in &ended {
        scope
            .revoke(Revoked::Session(row.try_get::<Uuid>("", "id")?))
            .await?;
    }
    Ok(ended.len() as u64)
}

/// What `change` changes of `client`, applied to it: `{field: {before, after}}` per field.
fn apply(client: &mut oauth_client::Model, change: Change) -> Map<String, Value> {
    let mut changes = Map::new();
    let mut set = |field: &str, before: Value, after: Value| {
        if before != after {
            changes.insert(field.into(), json!({"before": before, "after": after}));
        }
    };
    macro_rules! field {
        ($name:ident, $value:expr) => {
            if let Some(after) = $value {
                set(stringify!($name), json!(client.$name), json!(after));
                client.$name = after;
            }
        };
    }
    field!(name, change.name.map(|n| n.into_inner()));
    field!(first_party, change.first_party);
    field!(redirect_uris, change.redirect_uris);
    field!(post_logout_redirect_uris, change.post_logout_redirect_uris);
    field!(scopes, change.scopes);
    field!(
        id_token_alg,
        change.id_token_alg.map(|a| a.as_str().to_owned())
    );
    field!(dealership_ids, change.dealership_ids);
    field!(group_ids, change.group_ids);
    field!(is_active, change.is_active);
    changes
}

/// Changes a client's settings; disabling it (`is_active: false`) ends its families at once.
pub async fn update(
    scope: &RequestScope,
    id: Uuid,
    change: Change,
) -> Result<Registered, AppError> {
    let target = find(scope, id).await?;
    changing(scope).await?;
    check_places(
        scope,
        change.dealership_ids.as_ref().and_then(Option::as_ref),
        change.group_ids.as_ref().and_then(Option::as_ref),
    )
    .await?;
    let mut client = target.clone();
    let mut changes = apply(&mut client, change);
    if changes.is_empty() {
        return with_secrets(scope, target).await;
    }
    if target.is_active && !client.is_active {
        let ended = end_families(scope, id, "client_disabled").await?;
        changes.insert("sessions_ended".into(), json!(ended));
    }
    client.updated_at = Utc::now();
    let updated = client
        .into_active_model()
        .reset_all()
        .update(scope.tx())
        .await?;
    record(scope, "oauth_client.updated", id, Value::Object(changes)).await?;
    with_secrets(scope, updated).await
}

/// Deletes a client with its secrets, codes and consents; its families end at once.
pub async fn delete(scope: &RequestScope, id: Uuid) -> Result<(), AppError> {
    let target = find(scope, id).await?;
    changing(scope).await?;
    let ended = end_families(scope, id, "client_deleted").await?;
    oauth_client::Entity::delete_by_id(id)
        .exec(scope.tx())
        .await?;
    let changes = json!({ "name": target.name, "sessions_ended": ended });
    record(scope, "oauth_client.deleted", id, changes).await
}

/// A new secret for confidential client `id`, shown this once. The previous ones keep working
/// for `overlap_secs` (those already in an overlap keep their earlier end), so the client's
/// deployments can take the new one without an outage; expired ones are dropped. 409 for a
/// public client: it has no secret.
pub async fn rotate_secret(
    scope: &RequestScope,
    id: Uuid,
    overlap_secs: u64,
) -> Result<(Registered, Secret<String>), AppError> {
    let target = find(scope, id).await?;
    changing(scope).await?;
    if !target.confidential {
        return Err(AppError::Conflict(
            "a public client has no secret: it authenticates with PKCE alone".into(),
        ));
    }
    let until = i64::try_from(overlap_secs)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|overlap| Utc::now().checked_add_signed(overlap))
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("oidc.secret_overlap_secs is too large"))
        })?;
    let tx = scope.tx();
    oauth_client_secret::Entity::delete_many()
        .filter(oauth_client_secret::Column::ClientId.eq(id))
        .filter(oauth_client_secret::Column::ExpiresAt.lte(Utc::now()))
        .exec(tx)
        .await?;
    let overlapping = oauth_client_secret::Entity::update_many()
        .col_expr(oauth_client_secret::Column::ExpiresAt, Expr::value(until))
        .filter(oauth_client_secret::Column::ClientId.eq(id))
        .filter(oauth_client_secret::Column::ExpiresAt.is_null())
        .exec(tx)
        .await?
        .rows_affected;
    let secret = add_secret(scope, id).await?;
    let changes = json!({ "previous_secrets": overlapping, "previous_valid_until": until });
    record(scope, "oauth_client.secret_rotated", id, changes).await?;
    Ok((with_secrets(scope, target).await?, secret))
}
