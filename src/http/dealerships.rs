//! `/api/v1/dealerships`: the tenants.

use poem::{Request, web::Data};
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
    security::{BearerAuth, request_meta},
};
use crate::{
    auth::revocation::Revoked,
    authz::{Action, Resource},
    domain::{DealershipName, Email, Invalid, Phone, text::is_forbidden_in_text},
    error::AppError,
    service::{
        Page,
        dealerships::{self, Profile},
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
}

impl Example for UpdateDealership {
    fn example() -> Self {
        Self {
            name: None,
            address: Some("2 Main Street\nSpringfield".into()),
            contact_email: None,
            contact_phone: Some("+1 312 555 0198".into()),
            is_active: None,
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
        auth: BearerAuth,
        state: Data<&AppState>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<DealershipList, set::Listing> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Dealerships, Action::List)?;
        let page = Page::parse(limit.0, offset.0)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let (rows, total) = dealerships::list(&tx, &auth.0, reach, page).await?;
        tx.commit().await?;
        Ok(DealershipList::Ok(
            Json(rows.into_iter().map(Dealership::from).collect()),
            total,
        ))
    }

    /// Create a dealership.
    ///
    /// **Permissions:** `dealerships:create` at `any` scope.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        body: Json<CreateDealership>,
    ) -> ApiResult<Created, set::CreateDealership> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Dealerships, Action::Create)?;
        let b = body.0;
        let profile = parse_profile(Some(b.name), b.address, b.contact_email, b.contact_phone)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let created =
            dealerships::create(&tx, &auth.0, reach, profile, &request_meta(req, &state)).await?;
        tx.commit().await?;
        Ok(Created::Created(Json(created.into())))
    }

    /// One dealership.
    ///
    /// **Permissions:** `dealerships:read` at the target's scope.
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        auth: BearerAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Dealership>, set::Lookup> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Dealerships, Action::Read)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let found = dealerships::get(&tx, &auth.0, reach, id.0).await?;
        tx.commit().await?;
        Ok(Json(found.into()))
    }

    /// Edit the profile; admins may also suspend (`is_active: false`) or reactivate.
    ///
    /// **Permissions:** `dealerships:update` at the target's scope; `is_active` needs `any`.
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
        body: Json<UpdateDealership>,
    ) -> ApiResult<Json<Dealership>, set::Edit> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Dealerships, Action::Update)?;
        let b = body.0;
        let profile = parse_profile(b.name, b.address, b.contact_email, b.contact_phone)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        let updated = dealerships::update(
            &tx,
            &auth.0,
            reach,
            id.0,
            profile,
            b.is_active,
            &request_meta(req, &state),
        )
        .await?;
        tx.commit().await?;
        state.revoked(Revoked::Dealership(id.0)).await;
        Ok(Json(updated.into()))
    }

    /// Soft-delete a dealership: suspended, hidden, and every session of its users ended.
    ///
    /// **Permissions:** `dealerships:delete` at `any` scope.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        req: &Request,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Done, set::Lookup> {
        let reach = state
            .authz
            .grant(&auth.0, Resource::Dealerships, Action::Delete)?;
        let tx = state.db.begin(auth.0.scope_for(reach)).await?;
        dealerships::delete(&tx, &auth.0, reach, id.0, &request_meta(req, &state)).await?;
        tx.commit().await?;
        state.revoked(Revoked::Dealership(id.0)).await;
        Ok(Done::NoContent)
    }
}

/// Name 1–200 characters, address ≤ 500 (neither with control or bidi characters; the address
/// may have line breaks); contact email a valid address; contact phone a valid international
/// number, stored as E.164; an empty optional field clears it. Every invalid field is reported
/// at once.
fn parse_profile(
    name: Option<String>,
    address: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
) -> Result<Profile, AppError> {
    let (name, address, contact_email, contact_phone) = fields::check((
        (
            "name",
            name.as_deref().map(DealershipName::parse).transpose(),
        ),
        (
            "address",
            fields::clearable(address.as_deref(), address_text),
        ),
        (
            "contact_email",
            fields::clearable(contact_email.as_deref(), Email::parse),
        ),
        (
            "contact_phone",
            fields::clearable(contact_phone.as_deref(), Phone::parse),
        ),
    ))?;
    Ok(Profile {
        name,
        address,
        contact_email,
        contact_phone,
    })
}

/// A postal address: at most 500 characters, line breaks allowed.
fn address_text(raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > 500 || raw.chars().any(is_forbidden_in_text) {
        return Err(Invalid::new(
            "must be at most 500 characters, without control characters",
        ));
    }
    Ok(raw.to_owned())
}
