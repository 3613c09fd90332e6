//! `/api/v1/dealerships`: the tenants.

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
    dto::{Dealership, json_string, json_string_or_null},
    error::{ApiResult, set},
    fields,
    security::BearerAuth,
};
use crate::{
    authz::{Action, Resource},
    domain::{DealershipName, Email, Invalid, Phone, text::is_forbidden_in_text},
    error::AppError,
    service::{
        Page,
        dealerships::{self, Profile, Switches},
    },
    state::AppState,
};

#[derive(Object)]
#[oai(example)]
struct CreateDealership {
    #[oai(deserialize_with = "json_string")]
    name: String,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    address: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    contact_email: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    contact_phone: Option<String>,
}

impl Example for CreateDealership {
    fn example() -> Self {
        Self {
            name: "Westside Cars".into(),
            address: Some("1 Main Street\nSpringfield".into()),
            contact_email: Some("sales@westside.example.com".into()),
            contact_phone: Some("+1 312 555 0199".into()),
        }
    }
}

#[derive(Object)]
#[oai(example)]
struct UpdateDealership {
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    name: Option<String>,
    /// An empty string clears it (likewise the contact fields).
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    address: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    contact_email: Option<String>,
    #[oai(nullable, deserialize_with = "json_string_or_null")]
    contact_phone: Option<String>,
    /// Platform only: `false` suspends the dealership and ends its users' sessions.
    #[oai(nullable)]
    is_active: Option<bool>,
    /// `true`: every user must sign in with a second factor (those without one may only enrol),
    /// and sessions that never proved one end now.
    #[oai(nullable)]
    mfa_required: Option<bool>,
}

impl Example for UpdateDealership {
    fn example() -> Self {
        Self {
            name: None,
            address: Some("2 Main Street\nSpringfield".into()),
            contact_email: None,
            contact_phone: Some("+1 312 555 0198".into()),
            is_active: None,
            mfa_required: None,
        }
    }
}

#[derive(ApiResponse)]
enum DealershipList {
    /// A page of dealerships, newest first; `X-Total-Count` counts every match.
    #[oai(status = 200)]
    Ok(Json<Vec<Dealership>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<Dealership>),
}

#[derive(ApiResponse)]
enum Done {
    #[oai(status = 204)]
    NoContent,
}

pub struct DealershipsApi;

#[OpenApi(prefix_path = "/api/v1/dealerships", tag = "ApiTags::Dealerships")]
impl DealershipsApi {
    /// All dealerships for admins; the caller's own for everyone else.
    ///
    /// **Permissions:** `dealerships:list` at the caller's widest scope.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Query(limit): Query<Option<i64>>,
        Query(offset): Query<Option<i64>>,
    ) -> ApiResult<DealershipList, set::Listing> {
        let scope = state
            .begin(&me, Resource::Dealerships, Action::List)
            .await?;
        let (rows, total) = dealerships::list(&scope, Page::parse(limit, offset)?).await?;
        scope.commit().await?;
        let rows = rows.into_iter().map(Dealership::from).collect();
        Ok(DealershipList::Ok(Json(rows), total))
    }

    /// Create a dealership.
    ///
    /// **Permissions:** `dealerships:create` at `any` scope.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Json(body): Json<CreateDealership>,
    ) -> ApiResult<Created, set::CreateDealership> {
        let scope = state
            .begin(&me, Resource::Dealerships, Action::Create)
            .await?;
        let created = dealerships::create(&scope, body.parse()?).await?;
        scope.commit().await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// One dealership.
    ///
    /// **Permissions:** `dealerships:read` at the target's scope.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Json<Dealership>, set::Lookup> {
        let scope = state
            .begin(&me, Resource::Dealerships, Action::Read)
            .await?;
        let found = dealerships::get(&scope, id).await?;
        scope.commit().await?;
        Ok(Json(found.into()))
    }

    /// Edit the profile; admins may also suspend (`is_active: false`) or reactivate; admins and
    /// the dealership's principal may require a second factor of every user (`mfa_required`).
    ///
    /// **Permissions:** `dealerships:update` at the target's scope; `is_active` needs `any`.
    /// Suspending and switching `mfa_required` need a recent second factor from a caller who
    /// has one (`403 step_up_required`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
        Json(body): Json<UpdateDealership>,
    ) -> ApiResult<Json<Dealership>, set::Edit> {
        let scope = state
            .begin(&me, Resource::Dealerships, Action::Update)
            .await?;
        let (is_active, mfa_required) = (body.is_active, body.mfa_required);
        let switches = Switches {
            is_active,
            mfa_required,
        };
        let updated = dealerships::update(&scope, id, body.parse()?, switches).await?;
        scope.commit().await?;
        Ok(Json(updated.into()))
    }

    /// Soft-delete a dealership: suspended, hidden, and every session of its users ended.
    ///
    /// **Permissions:** `dealerships:delete` at `any` scope.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        BearerAuth(me): BearerAuth,
        state: Data<&AppState>,
        Path(id): Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let scope = state
            .begin(&me, Resource::Dealerships, Action::Delete)
            .await?;
        dealerships::delete(&scope, id).await?;
        scope.commit().await?;
        Ok(Done::NoContent)
    }
}

impl CreateDealership {
    fn parse(self) -> Result<Profile, AppError> {
        let as_edit = UpdateDealership {
            name: Some(self.name),
            address: self.address,
            contact_email: self.contact_email,
            contact_phone: self.contact_phone,
            is_active: None,
            mfa_required: None,
        };
        as_edit.parse()
    }
}

impl UpdateDealership {
    fn parse(self) -> Result<Profile, AppError> {
        profile(
            self.name.as_deref(),
            self.address.as_deref(),
            self.contact_email.as_deref(),
            self.contact_phone.as_deref(),
        )
    }
}

/// Name, address and contacts, as an edit sends them (`None`: left out); an empty optional
/// field clears it. Every invalid field is reported at once. The console's forms parse here too.
pub(crate) fn profile(
    name: Option<&str>,
    address: Option<&str>,
    contact_email: Option<&str>,
    contact_phone: Option<&str>,
) -> Result<Profile, AppError> {
    let (name, address, contact_email, contact_phone) = fields::check((
        ("name", name.map(DealershipName::parse).transpose()),
        ("address", fields::clearable(address, address_text)),
        (
            "contact_email",
            fields::clearable(contact_email, Email::parse),
        ),
        (
            "contact_phone",
            fields::clearable(contact_phone, Phone::parse),
        ),
    ))?;
    Ok(Profile {
        name,
        address,
        contact_email,
        contact_phone,
    })
}

/// A postal address: at most 500 characters, line breaks allowed, no other control characters.
fn address_text(raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > 500 || raw.chars().any(is_forbidden_in_text) {
        return Err(Invalid::new(
            "must be at most 500 characters, without control characters",
        ));
    }
    Ok(raw.to_owned())
}
