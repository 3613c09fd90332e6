//! `/api/v1/audit-events`: who changed what, when.

use chrono::{DateTime, Utc};
use futures_util::{Stream, TryStreamExt};
use poem::{Body, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::Query,
    payload::{Binary, Json},
    types::ToJSON,
};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::AuditEvent,
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    entity::audit_event,
    error::AppError,
    service::{
        audit::{self, EventFilter},
        audit_export,
    },
    state::AppState,
};

#[derive(ApiResponse)]
enum EventList {
    /// A page of events, newest first; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<AuditEvent>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Export {
    /// NDJSON (`application/x-ndjson`): one audit event per line, each an `AuditEvent` object
    /// as the list answers it, in export order (by writing transaction, then id; not by `at`).
    /// `X-Next-Cursor` is where the next request resumes (`cursor`), also when no line came. A
    /// body cut short (no final chunk) is to be dropped and the same cursor asked again.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Ok(
        Binary<Body>,
        /// The cursor after the last event of this response (or the one given, if none came).
        #[oai(header = "X-Next-Cursor")]
        String,
    ),
}

/// Each batch of events as NDJSON lines; a failure mid-stream ends the body without its final
/// chunk (the status is gone already), so a client sees an incomplete response.
fn ndjson(
    batches: impl Stream<Item = Result<Vec<audit_event::Model>, AppError>> + Send + 'static,
) -> Body {
    let lines = batches
        .map_ok(|events| {
            let mut out = Vec::new();
            for event in events {
                let json = AuditEvent::from(event).to_json().unwrap_or_default();
                out.extend(json.to_string().into_bytes());
                out.push(b'\n');
            }
            out
        })
        .map_err(|err| {
            tracing::error!(%err, "audit export cut short");
            std::io::Error::other(err.to_string())
        });
    Body::from_bytes_stream(lines)
}

pub struct AuditApi;

#[allow(clippy::too_many_arguments)]
#[OpenApi(prefix_path = "/api/v1/audit-events", tag = "ApiTags::Audit")]
impl AuditApi {
    /// Audit events: all for admins, the caller's dealership's for principals (enforced by RLS).
    ///
    /// **Permissions:** `audit_events:list` at `dealership` or `any` scope.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(action): Query<Option<String>>,
        Query(actor_id): Query<Option<Uuid>>,
        Query(target_id): Query<Option<Uuid>>,
        Query(since): Query<Option<DateTime<Utc>>>,
        Query(until): Query<Option<DateTime<Utc>>>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<EventList, set::Listing> {
        let scope = state
            .begin(&me, Resource::AuditEvents, Action::List)
            .await?;
        let filter = EventFilter::new(action, actor_id, target_id, since, until);
        let (events, total) = audit::list(&scope, &filter, limit, offset).await?;
        scope.commit().await?;
        let events = events.into_iter().map(AuditEvent::from).collect();
        Ok(EventList::Ok(Json(events), total))
    }

    /// Every audit event in the caller's reach, for a SIEM collector: NDJSON, streamed, after
    /// `cursor` (from the start without one), at most `limit` (1..=10000, default 1000). Each
    /// event is exported exactly once across resumed requests: only events of transactions that
    /// have ended are handed out, in the order of their transactions, so none can appear behind
    /// a cursor later. A malformed `cursor` is a 400. See docs/audit.md.
    ///
    /// **Permissions:** `audit_events:list` at `dealership`, `group` or `any` scope.
    #[oai(path = "/export", method = "get")]
    async fn export(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(cursor): Query<Option<String>>,
        Query(limit): Query<Option<i64>>,
    ) -> ApiResult<Export, set::Listing> {
        let grant = state.grant(&me, Resource::AuditEvents, Action::List)?;
        let page = audit_export::page(&state, &grant, cursor.as_deref(), limit).await?;
        let next = page.next();
        let body = ndjson(audit_export::events(state.clone(), page));
        Ok(Export::Ok(Binary(body), next))
    }
}
