//! The HTTP surface (poem-openapi): one `#[OpenApi]` struct per tag, assembled with the
//! middleware that every request passes through.

mod access_review;
mod account;
mod admin;
mod audit;
mod auth;
pub(crate) mod dealer_groups;
pub(crate) mod dealerships;
mod dto;
mod email_change;
pub mod error;
mod expected;
pub mod fields;
mod headers;
mod health;
pub(crate) mod invitations;
mod mfa;
mod mfa_coverage;
mod middleware;
mod oauth_clients;
mod recovery;
mod refused;
pub mod request_id;
mod roles;
mod routes;
mod security;
pub mod serve;
mod service_accounts;
mod signup;
pub(crate) mod users;
mod webhooks;
mod well_known;

pub(crate) use headers::allow_form_target;
pub(crate) use mfa::answer as mfa_answer;
pub(crate) use roles::{new_role, role_change};
pub(crate) use security::request_meta;

use poem::{
    Endpoint, EndpointExt, IntoResponse, Route,
    middleware::{Cors, NormalizePath, TrailingSlash},
};
use poem_openapi::{OpenApiService, Tags};

use crate::state::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Sign in, refresh, sign out; the caller's own account and sessions.
    Auth,
    /// The staff directory and its management.
    Users,
    /// Invitations into a dealership.
    Invitations,
    /// A dealership's custom roles.
    Roles,
    /// The tenants.
    Dealerships,
    /// Dealerships that belong together, and who runs every one of them.
    DealerGroups,
    /// The apps that sign people in through dealergate (OpenID Connect clients).
    OauthClients,
    /// Machine identities and their API keys.
    ServiceAccounts,
    /// Signed webhooks: endpoints, their delivery log, redelivery.
    Webhooks,
    /// Who changed what.
    Audit,
    /// Who has access, with a second factor or not, and reviews of it.
    AccessReview,
    /// The platform's controls.
    Admin,
    /// Liveness and readiness probes.
    Health,
}

pub type Apis = (
    auth::AuthApi,
    mfa::MfaApi,
    account::AccountApi,
    recovery::RecoveryApi,
    email_change::EmailChangeApi,
    signup::SignupApi,
    users::UsersApi,
    invitations::InvitationsApi,
    roles::RolesApi,
    dealerships::DealershipsApi,
    dealer_groups::DealerGroupsApi,
    Integrations,
    admin::AdminApi,
    well_known::WellKnownApi,
    health::HealthApi,
);

/// What other systems and auditors connect through: a nested tuple, as poem-openapi implements
/// `OpenApi` for tuples of at most 16 and `Apis` is full.
pub type Integrations = (
    oauth_clients::OAuthClientsApi,
    service_accounts::ServiceAccountsApi,
    webhooks::WebhooksApi,
    audit::AuditApi,
    access_review::AccessReviewApi,
    mfa_coverage::MfaCoverageApi,
);

/// The API and its OpenAPI document; needs no state, so `dealergate openapi` can print it.
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi,
            mfa::MfaApi,
            account::AccountApi,
            recovery::RecoveryApi,
            email_change::EmailChangeApi,
            signup::SignupApi,
            users::UsersApi,
            invitations::InvitationsApi,
            roles::RolesApi,
            dealerships::DealershipsApi,
            dealer_groups::DealerGroupsApi,
            (
                oauth_clients::OAuthClientsApi,
                service_accounts::ServiceAccountsApi,
                webhooks::WebhooksApi,
                audit::AuditApi,
                access_review::AccessReviewApi,
                mfa_coverage::MfaCoverageApi,
            ),
            admin::AdminApi,
            well_known::WellKnownApi,
            health::HealthApi,
        ),
        "dealergate",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Identity, sessions, users, dealerships and roles for dealership platforms.")
}

/// The OpenAPI document as JSON, built once: route templates and the words of refusals are
/// read from it.
fn document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::from_str(&api_service().spec()).unwrap_or_default())
}

/// What is served beside the API, inside the same middleware: the browser console at
/// `/console` (`crate::console`), and the OpenID provider (`crate::oidc`) at `/oauth2` and
/// `/.well-known/openid-configuration`.
pub struct Beside<C, O, D> {
    pub console: C,
    pub oauth2: O,
    pub discovery: D,
}

/// The whole HTTP application for one replica.
pub fn app<C, O, D>(state: AppState, beside: Beside<C, O, D>) -> impl Endpoint
where
    C: Endpoint + 'static,
    O: Endpoint + 'static,
    D: Endpoint + 'static,
{
    let api = api_service();
    let context = middleware::RequestContext::new(&state.settings.http);
    let cors = cors(&state.settings);
    let security = headers::SecurityHeaders::new(&state.settings.http);
    // CORS is the API's: the console is same-origin only and answers a foreign origin itself
    let api = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .nest("/docs", api.swagger_ui())
        .nest("/", api)
        .with(cors);
    Route::new()
        .nest("/console", beside.console)
        .nest("/oauth2", beside.oauth2)
        .at("/.well-known/openid-configuration", beside.discovery)
        .nest("/", api)
        .around(home)
        .with(NormalizePath::new(TrailingSlash::Trim))
        .before(same_origin_needs_no_cors)
        .data(state)
        .with(context)
        .with(security)
}

/// The operators' listener (`http.ops_listen`): metrics, liveness and the detailed readiness
/// report, off the public port.
pub fn ops_app(state: AppState) -> impl Endpoint {
    let context = middleware::RequestContext::new(&state.settings.http);
    let security = headers::SecurityHeaders::new(&state.settings.http);
    Route::new()
        .at("/metrics", poem::get(metrics_endpoint))
        .at("/healthz", poem::get(alive))
        .at("/readyz", poem::get(health::readiness_report))
        .with(NormalizePath::new(TrailingSlash::Trim))
        .data(state)
        .with(context)
        .with(security)
}

/// `/`: a newcomer in dev lands on Swagger UI; in prod there is nothing here (404, as for any
/// unknown path). (The API is nested at `/`, which takes `/` itself: hence around the routes.)
async fn home<E: Endpoint>(next: E, req: poem::Request) -> poem::Result<poem::Response> {
    let dev = req
        .data::<AppState>()
        .is_some_and(|s| s.settings.profile == crate::config::Profile::Dev);
    let read = matches!(
        *req.method(),
        poem::http::Method::GET | poem::http::Method::HEAD
    );
    if dev && read && req.uri().path() == "/" {
        return Ok(poem::web::Redirect::see_other("/docs").into_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}

#[poem::handler]
fn alive() -> poem::web::Json<serde_json::Value> {
    poem::web::Json(serde_json::json!({"status": "ok"}))
}

/// Browser frontends on the configured origins only; cookies cross only in cookie mode.
fn cors(settings: &crate::config::Settings) -> Cors {
    let origins = settings.http.cors_origins_for(settings.profile);
    // poem's Cors allows every origin when given none: deny explicitly instead
    let cors = if origins.is_empty() {
        Cors::new().allow_origins_fn(|_| false)
    } else {
        Cors::new().allow_origins(origins.iter().map(String::as_str))
    };
    cors.allow_credentials(settings.auth.cookie_mode)
        .allow_methods(["GET", "POST", "PATCH", "DELETE"])
        .allow_headers(["authorization", "content-type", "x-request-id"])
        .expose_headers(["x-request-id", "x-total-count", "retry-after"])
        .max_age(600)
}

/// Browsers send `Origin` on same-origin POSTs too (Swagger UI's own requests, a frontend
/// served from this host); CORS is about other origins, so such a request drops the header
/// instead of being checked against the allow-list.
async fn same_origin_needs_no_cors(mut req: poem::Request) -> poem::Result<poem::Request> {
    let same = match (req.header("origin"), req.header("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    };
    if same {
        req.headers_mut().remove("origin");
    }
    Ok(req)
}

/// Prometheus scrapes this on the operators' listener (outside the OpenAPI document: it is for
/// operators, not clients).
#[poem::handler]
fn metrics_endpoint(state: poem::web::Data<&AppState>) -> poem::Response {
    poem::Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::metrics().render(state.db.pool_stats()))
}
