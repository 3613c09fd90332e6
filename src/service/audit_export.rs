//! The audit log for monitoring tools: every event in the caller's reach, once, in an order
//! that never changes behind a cursor.
//!
//! An event's `at` is its transaction's start and transactions commit out of order, so the
//! export orders by the writing transaction's id and the event's id (`txid`, `id`; migration
//! 000024) and hands out only events of transactions below the oldest one still running
//! (`pg_snapshot_xmin`): those have all ended, so no event can later appear before the cursor.
//! An event of a transaction still open is exported by a later request, after its commit.
//!
//! A request first fixes its page — the last `(txid, id)` of at most `limit` final events —
//! in one short transaction, which is the cursor it answers with; the events up to it are then
//! read in batches, each in a transaction of its own, while the body streams.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::{Stream, stream};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use uuid::Uuid;

use crate::{
    authz::Reach,
    entity::audit_event,
    error::{AppError, FieldError},
    scope::{Grant, RequestScope},
    state::AppState,
    tenancy::SCOPE_DEALERSHIPS,
};

/// Events per request when `limit` is not given, and at most.
pub const DEFAULT_LIMIT: i64 = 1000;
pub const MAX_LIMIT: i64 = 10_000;
/// Events read per transaction while the body streams.
const BATCH: i64 = 500;

/// A position in the export: after the event `id` of transaction `txid`. The start is
/// `(0, nil)`, before every event. Opaque to clients (base64url of `txid.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    txid: u64,
    id: Uuid,
}

impl Cursor {
    /// A cursor as the export handed it out; anything else is a 400 naming `cursor`.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let bad = || {
            AppError::BadParameter(FieldError::new(
                "cursor",
                "must be a cursor this export handed out (X-Next-Cursor)",
            ))
        };
        let decoded = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (txid, id) = decoded.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            txid: txid.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.txid, self.id))
    }

    fn values(&self) -> [Value; 2] {
        [self.txid.to_string().into(), self.id.into()]
    }
}

/// What one request exports: the events after `after` up to and including `through`.
#[derive(Debug, Clone)]
pub struct Page {
    grant: Grant,
    after: Cursor,
    through: Cursor,
}

impl Page {
    /// The cursor to resume from: the last event of this page (or where it started, if empty).
    pub fn next(&self) -> String {
        self.through.encode()
    }
}

/// Fixes the page of at most `limit` final events after `cursor` in the caller's reach: every
/// dealership's at `any`, the group's at `group`, their own dealership's at `dealership`.
pub async fn page(
    state: &AppState,
    grant: &Grant,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page, AppError> {
    if grant.reach() == Reach::Own {
        return Err(AppError::Forbidden);
    }
    // an empty cursor is no cursor: from the beginning
    let cursor = cursor.filter(|c| !c.is_empty());
    let after = cursor.map(Cursor::parse).transpose()?.unwrap_or_default();
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let scope = state.open(grant).await?;
    let (within, mut values) = within(&scope);
    values.extend(after.values());
    values.push(limit.into());
    let n = values.len();
    let sql = format!(
        "SELECT txid::text AS txid, id FROM ( \
             SELECT txid, id FROM audit_events \
             WHERE {within} (txid, id) > (${}::text::xid8, ${}::uuid) \
               AND txid < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY txid, id LIMIT ${n}) page \
         ORDER BY txid DESC, id DESC LIMIT 1",
        n - 2,
        n - 1,
    );
    let last = scope
        .tx()
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    scope.commit().await?;
    let through = match last {
        Some(row) => Cursor {
            txid: row
                .try_get::<String>("", "txid")?
                .parse()
                .map_err(AppError::internal)?,
            id: row.try_get("", "id")?,
        },
        None => after,
    };
    Ok(Page {
        grant: grant.clone(),
        after,
        through,
    })
}

/// The page's events in order, a batch at a time, each batch read in its own transaction.
pub fn events(
    state: AppState,
    page: Page,
) -> impl Stream<Item = Result<Vec<audit_event::Model>, AppError>> + Send + 'static {
    stream::try_unfold(Some(page.after), move |after| {
        let (state, page) = (state.clone(), page.clone());
        async move {
            let Some(after) = after.filter(|a| *a != page.through) else {
                return Ok(None);
            };
            let scope = state.open(&page.grant).await?;
            let batch = batch(&scope, after, page.through).await?;
            scope.commit().await?;
            let next = batch
                .last()
                .map(|e| e.1)
                .filter(|_| batch.len() as i64 == BATCH);
            let events = batch.into_iter().map(|(event, _)| event).collect();
            Ok(Some((events, next)))
        }
    })
}

/// The events after `after` through `through`, at most [`BATCH`], with their positions.
async fn batch(
    scope: &RequestScope,
    after: Cursor,
    through: Cursor,
) -> Result<Vec<(audit_event::Model, Cursor)>, AppError> {
    #[derive(FromQueryResult)]
    struct Position {
        position_txid: String,
    }
    let (within, mut values) = within(scope);
    values.extend(after.values());
    values.extend(through.values());
    values.push(BATCH.into());
    let n = values.len();
    let sql = format!(
        "SELECT *, txid::text AS position_txid FROM audit_events \
         WHERE {within} (txid, id) > (${}::text::xid8, ${}::uuid) \
           AND (txid, id) <= (${}::text::xid8, ${}::uuid) \
         ORDER BY txid, id LIMIT ${n}",
        n - 4,
        n - 3,
        n - 2,
        n - 1,
    );
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    let rows = scope.tx().query_all_raw(statement).await?;
    rows.iter()
        .map(|row| {
            let event = audit_event::Model::from_query_result(row, "")?;
            let txid = Position::from_query_result(row, "")?.position_txid;
            let txid = txid.parse().map_err(AppError::internal)?;
            let id = event.id;
            Ok((event, Cursor { txid, id }))
        })
        .collect()
}

/// The explicit confinement beside RLS: the caller's dealership, or the group's.
fn within(scope: &RequestScope) -> (String, Vec<Value>) {
    match (scope.reach(), scope.principal().dealership_id) {
        (Reach::Any, _) => (String::new(), Vec::new()),
        (Reach::Group, _) => (
            format!("dealership_id = ANY {SCOPE_DEALERSHIPS} AND"),
            Vec::new(),
        ),
        (_, Some(d)) => ("dealership_id = $1 AND".to_owned(), vec![d.into()]),
        (_, None) => ("false AND".to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_itself_and_nothing_else_reads_as_one() {
        let cursor = Cursor {
            txid: 123_456,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()).unwrap(), cursor);
        for bad in [
            "",
            "!!",
            "MTIz",
            &URL_SAFE_NO_PAD.encode("x.y"),
            &URL_SAFE_NO_PAD.encode("-1.00000000-0000-0000-0000-000000000000"),
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }
}
