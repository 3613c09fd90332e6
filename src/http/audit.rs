//! `/api/v1/audit-events`: who changed what, when.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::AuditEvent,
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    service::audit::{self, EventFilter},
    state::AppState,
};

#[derive(ApiResponse)]
enum EventList {
    /// A page of events, newest first; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<AuditEvent>>, #[oai(header = "X-Total-Count")] u64),
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
}
