//! `/api/v1/mfa-coverage`: how many people of each dealership in the caller's reach use a
//! second factor, and who does not (FTC Safeguards Rule 314.4(c)(5)).

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    dto::Nullable,
    error::{ApiResult, set},
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    service::access_review::{
        self, Entry,
        coverage::{self, Coverage},
    },
    state::AppState,
};

/// Active people and how many of them have a confirmed second factor.
#[derive(Debug, Object)]
struct CoverageCount {
    /// The dealership; `null` for the total, a group's own memberships or the platform's.
    dealership_id: Nullable<Uuid>,
    dealership: Nullable<String>,
    group_id: Nullable<Uuid>,
    people: u64,
    with_second_factor: u64,
    /// `with_second_factor / people` (1 when there is nobody).
    ratio: f64,
}

impl From<&Coverage> for CoverageCount {
    fn from(c: &Coverage) -> Self {
        Self {
            dealership_id: c.dealership_id.into(),
            dealership: c.dealership.clone().into(),
            group_id: c.group_id.into(),
            people: c.people,
            with_second_factor: c.with_second_factor,
            ratio: c.ratio(),
        }
    }
}

/// An active person without a second factor.
#[derive(Debug, Object)]
struct WithoutSecondFactor {
    /// The membership (`/users/{id}`).
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    dealership_id: Nullable<Uuid>,
    group_id: Nullable<Uuid>,
    role: String,
}

impl From<&Entry> for WithoutSecondFactor {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.id,
            email: e.email.clone(),
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            dealership_id: e.dealership_id.into(),
            group_id: e.group_id.into(),
            role: e.role.clone(),
        }
    }
}

/// Coverage in the caller's reach.
#[derive(Debug, Object)]
struct MfaCoverage {
    /// Every active membership in the reach (a person in two dealerships counts in each).
    total: CoverageCount,
    /// Per dealership (and per group for group memberships, the platform for admins).
    dealerships: Vec<CoverageCount>,
    without_second_factor: Vec<WithoutSecondFactor>,
}

#[derive(ApiResponse)]
enum CoverageAnswer {
    #[oai(status = 200)]
    Ok(Json<MfaCoverage>),
}

impl MfaCoverage {
    fn of(entries: &[Entry]) -> Self {
        let (places, total, without) = coverage::of(entries);
        Self {
            total: (&total).into(),
            dealerships: places.iter().map(Into::into).collect(),
            without_second_factor: without.into_iter().map(Into::into).collect(),
        }
    }
}

pub struct MfaCoverageApi;

#[OpenApi(prefix_path = "/api/v1/mfa-coverage", tag = "ApiTags::AccessReview")]
impl MfaCoverageApi {
    /// Second-factor coverage: the caller's dealership (principal), their group's dealerships
    /// (group principal), or every dealership and the platform's total (admin).
    ///
    /// **Permissions:** `access_review:list` at `dealership`, `group` or `any` scope.
    #[oai(path = "/", method = "get")]
    async fn coverage(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
    ) -> ApiResult<CoverageAnswer, set::Listing> {
        let scope = state
            .begin(&me, Resource::AccessReview, Action::List)
            .await?;
        let entries = access_review::list(&state, &scope).await?;
        scope.commit().await?;
        Ok(CoverageAnswer::Ok(Json(MfaCoverage::of(&entries))))
    }
}
