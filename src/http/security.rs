//! The bearer scheme: an access token in `Authorization`, verified and checked for revocation
//! before the handler runs. Documented as OAuth2 password flow so Swagger UI's Authorize works.

use poem::Request;
use poem_openapi::{OAuthScopes, SecurityScheme, auth::Bearer};

use super::error::ApiError;
use std::net::IpAddr;

use crate::{
    auth::{mfa::Standing, principal::authenticate},
    config::HttpSettings,
    error::AppError,
    scope::{Caller, RequestMeta},
    state::AppState,
};

/// OpenAPI requires a flow to declare its scopes; permissions come from the policy, not scopes.
#[derive(OAuthScopes)]
#[allow(dead_code)] // named only in the OpenAPI document
pub enum ApiScope {
    /// Whatever the caller's role allows.
    #[oai(rename = "api")]
    Api,
}

#[derive(SecurityScheme)]
#[oai(
    ty = "oauth2",
    flows(password(token_url = "/api/v1/auth/token", scopes = "ApiScope")),
    checker = "check_bearer"
)]
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::from(AppError::internal(anyhow::anyhow!("no state"))))?;
    let principal = authenticate(&state.auth, &state.settings.auth, &state.db, &bearer.token)
        .await
        .map_err(|e| poem::Error::from(ApiError::from(e)))?;
    if principal.mfa == Standing::MustEnrol && !enrolment_route(req) {
        return Err(ApiError::from(AppError::MfaEnrolmentRequired).into());
    }
    let span = tracing::Span::current();
    span.record("user_id", tracing::field::display(principal.user_id));
    if let Some(dealership) = principal.dealership_id {
        span.record("dealership_id", tracing::field::display(dealership));
    }
    let mut meta = request_meta(req, state);
    if principal.service_account.is_some() {
        admit_machine(req, state, &principal, &meta).map_err(ApiError::from)?;
        meta.service_account = principal.service_account;
    }
    Ok(Caller { principal, meta })
}

/// A service account's request: not to a person's own account (`/auth/*`: password, second
/// factor, sessions, profile), within its rate limit (per replica); its key's last use is
/// recorded after the answer, at most once a minute.
fn admit_machine(
    req: &Request,
    state: &AppState,
    principal: &crate::auth::principal::Principal,
    meta: &crate::scope::RequestMeta,
) -> Result<(), AppError> {
    if req.uri().path().starts_with("/api/v1/auth") {
        return Err(AppError::NotForMachines(
            "use /api/v1/auth: it is a person's own account (password, second factor, \
             sessions); a service account is managed at /api/v1/service-accounts",
        ));
    }
    let machines = state.auth.sessions.machines();
    let per_minute = state.settings.service_accounts.requests_per_minute;
    machines
        .take(principal.user_id, per_minute)
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    let key_id = principal.session_id;
    if machines.due_for_use_record(key_id) {
        let (db, ip) = (state.db.clone(), meta.ip.clone());
        state
            .after_answer
            .spawn("recording a key's use", async move {
                let tx = db.begin(crate::tenancy::Scope::Anonymous).await?;
                crate::auth::service_accounts::record_use(&tx, key_id, ip).await?;
                tx.commit().await
            });
    }
    Ok(())
}

/// What a session that must enrol a second factor may do: enrol (list, start, confirm), see
/// who it is, and sign out. Anything else, however the path is spelled, is refused.
fn enrolment_route(req: &Request) -> bool {
    let path = req.uri().path().trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/api/v1/auth") else {
        return false;
    };
    let confirm = rest
        .strip_prefix("/mfa/totp/")
        .and_then(|r| r.strip_suffix("/confirm"))
        .is_some_and(|id| uuid::Uuid::try_parse(id).is_ok());
    let method = req.method();
    confirm
        || matches!(
            (method.as_str(), rest),
            ("GET", "/mfa" | "/me") | ("POST", "/mfa/totp" | "/logout" | "/logout-all")
        )
}

/// Request id, client IP and user agent, as sessions and audit events record them.
pub fn request_meta(req: &Request, state: &AppState) -> RequestMeta {
    let ip = forwarded_client(req, &state.settings.http)
        .or_else(|| req.remote_addr().as_socket_addr().map(|a| a.ip()));
    RequestMeta {
        request_id: Some(super::request_id::current()),
        ip: ip.map(|ip| ip.to_canonical().to_string()),
        user_agent: req.header("user-agent").map(str::to_owned),
        service_account: None,
    }
}

/// The client as the trusted proxies saw it: every `X-Forwarded-For` line in order, then the
/// entry `trusted_proxy_hops` from the right (each proxy appends the address it saw, so entries
/// further left are whatever the client sent). A shorter chain gives its left-most entry.
fn forwarded_client(req: &Request, http: &HttpSettings) -> Option<IpAddr> {
    if !http.trust_forwarded_for {
        return None;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let hops = usize::from(http.trusted_proxy_hops.max(1)); // 0 is refused at load
    let client = entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries.get(i))
        .or(entries.first())?;
    parse_entry(client)
}

/// `203.0.113.5`, `2001:db8::1`, and the forms with a port some proxies write
/// (`203.0.113.5:4711`, `[2001:db8::1]:4711`, `[2001:db8::1]`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::parse_entry;

    #[test]
    fn forwarded_entries_parse_with_or_without_a_port() {
        for (entry, ip) in [
            ("203.0.113.5", "203.0.113.5"),
            ("203.0.113.5:4711", "203.0.113.5"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
        ] {
            assert_eq!(
                parse_entry(entry).map(|i| i.to_string()).as_deref(),
                Some(ip),
                "{entry}"
            );
        }
        for garbage in ["", "unknown", "_hidden", "1.2.3", "[::1"] {
            assert_eq!(parse_entry(garbage), None, "{garbage}");
        }
    }
}
