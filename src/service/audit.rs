//! The audit log: one row per change, written in the transaction of the change, so a change
//! that rolls back leaves no event and an event never describes a change that did not happen.

use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use crate::{
    authz::Reach,
    entity::audit_event,
    error::AppError,
    scope::{RequestMeta, RequestScope},
    tenancy::TenantTx,
};

/// One event. `changes` holds what changed (before/after); never secrets.
#[derive(Debug, Default)]
pub struct Event {
    pub dealership_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<Uuid>,
    pub changes: Option<serde_json::Value>,
}

pub async fn record(tx: &TenantTx, meta: &RequestMeta, event: Event) -> Result<(), AppError> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealership_id: Set(event.dealership_id),
        actor_id: Set(event.actor_id),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.to_owned()),
        target_id: Set(event.target_id),
        request_id: Set(meta.request_id.clone()),
        ip: Set(meta.ip.clone()),
        changes: Set(stamped(event.changes, meta)),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// `changes` with the service account that made them and its creator, when a machine did:
/// `{"service_account": {"id": …, "created_by": …}, …}` beside the actor (the account).
fn stamped(changes: Option<serde_json::Value>, meta: &RequestMeta) -> Option<serde_json::Value> {
    let Some(machine) = meta.service_account else {
        return changes;
    };
    let by = serde_json::json!({"id": machine.id, "created_by": machine.created_by});
    let mut changes = match changes {
        Some(serde_json::Value::Object(map)) => map,
        None => serde_json::Map::new(),
        Some(other) => serde_json::Map::from_iter([("value".to_owned(), other)]),
    };
    changes.insert("service_account".to_owned(), by);
    Some(serde_json::Value::Object(changes))
}

/// Writes `event`, about the credentials of person `person_id` (a password, an email, a
/// second factor), and a copy in every other dealership where the person is a member, as
/// done by and to their membership there: each of those dealerships sees it, no other does
/// (the definer function `person_audit_share` writes what RLS confines here).
pub async fn record_for_person(
    tx: &TenantTx,
    meta: &RequestMeta,
    event: Event,
    person_id: Uuid,
) -> Result<(), AppError> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let shared = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT person_audit_share($1, $2, $3, $4, $5, $6)",
        [
            person_id.into(),
            event.dealership_id.into(),
            event.action.into(),
            event.changes.clone().into(),
            meta.request_id.clone().into(),
            meta.ip.clone().into(),
        ],
    );
    record(tx, meta, event).await?;
    tx.execute_raw(shared).await?;
    Ok(())
}

/// Writes `event` in the scope's transaction, with its request's id and address.
pub async fn record_in(scope: &RequestScope, event: Event) -> Result<(), AppError> {
    record(scope.tx(), scope.meta(), event).await
}

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// One dealership's events, for a caller reaching more than one (honoured at `group` and
    /// `any` reach, as the roles list honours its `dealership_id`).
    pub dealership_id: Option<Uuid>,
}

impl EventFilter {
    pub fn new(
        action: Option<String>,
        actor_id: Option<Uuid>,
        target_id: Option<Uuid>,
        since: Option<chrono::DateTime<chrono::Utc>>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        Self {
            action,
            actor_id,
            target_id,
            since,
            until,
            dealership_id: None,
        }
    }
}

/// Events newest first: every dealership's at `any` reach, the caller's own dealership's at
/// `dealership`, none at `self`. RLS confines a tenant transaction already; the explicit
/// dealership condition says the same.
pub async fn list(
    scope: &RequestScope,
    filter: &EventFilter,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<(Vec<audit_event::Model>, u64), AppError> {
    use sea_orm::{
        ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
        QuerySelect, QueryTrait,
    };

    use crate::tenancy::in_scope_dealerships;
    let dealership_id = match scope.reach() {
        Reach::Own => return Err(AppError::Forbidden),
        Reach::Dealership => scope.principal().dealership_id,
        Reach::Group | Reach::Any => filter.dealership_id,
    };
    // paging is judged after the reach: a caller who may not list gets 403, not 422
    let page = super::Page::parse(limit, offset)?;
    let tx = scope.tx();
    let mut query = audit_event::Entity::find();
    if let Some(d) = dealership_id {
        query = query.filter(audit_event::Column::DealershipId.eq(d));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.clone()));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_event::Column::ActorId.eq(actor));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(audit_event::Column::TargetId.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_event::Column::At.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_event::Column::At.lt(until));
    }
    let total = match scope.reach() {
        // every dealership of the group (the group's own members' account events, with no
        // dealership, are the platform's to read); the page merges each one's own scan
        Reach::Group => {
            query
                .clone()
                .filter(in_scope_dealerships("audit_events.dealership_id"))
                .count(tx)
                .await?
        }
        _ => query.clone().count(tx).await?,
    };
    let newest_first = query
        .order_by_desc(audit_event::Column::At)
        .order_by_desc(audit_event::Column::Id);
    let events = if scope.reach() == Reach::Group {
        let merged = super::merged::per_dealership(
            newest_first.into_query(),
            "audit_events.dealership_id",
            ["at", "id"],
            page,
            None,
        );
        let statement = sea_orm::DbBackend::Postgres.build(&merged);
        audit_event::Model::find_by_statement(statement)
            .all(tx)
            .await?
    } else {
        newest_first
            .limit(page.limit)
            .offset(page.offset)
            .all(tx)
            .await?
    };
    Ok((events, total))
}
