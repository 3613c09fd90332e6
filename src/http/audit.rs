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
    authz::{Action, Reach, Resource},
    error::AppError,
    service::{
        Page,
        audit::{self, EventFilter},
    },
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
        auth: BearerAuth,
        state: Data<&AppState>,
        action: Query<Option<String>>,
        actor_id: Query<Option<Uuid>>,
        target_id: Query<Option<Uuid>>,
        since: Query<Option<DateTime<Utc>>>,
        until: Query<Option<DateTime<Utc>>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<EventList, set::Listing> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::AuditEvents, Action::List)?;
        if reach == Reach::Own {
            return Err(AppError::Forbidden.into());
        }
        let page = Page::parse(limit.0, offset.0)?;
        let filter = EventFilter {
            action: action.0,
            actor_id: actor_id.0,
            target_id: target_id.0,
            since: since.0,
            until: until.0,
        };
        let dealership = if reach == Reach::Any {
            None
        } else {
            auth.0.dealership_id
        };
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let (events, total) = audit::list(&tx, dealership, &filter, page).await?;
        tx.commit().await?;
        Ok(EventList::Ok(
            Json(events.into_iter().map(AuditEvent::from).collect()),
            total,
        ))
    }
}
