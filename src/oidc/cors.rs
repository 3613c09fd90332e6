//! CORS for the endpoints a browser app calls itself (token, userinfo, revocation): allowed
//! for the origins of registered redirect URIs — where such an app receives its codes — and
//! no other; never with credentials (the client authenticates in the request, not by cookie).
//! The answer per origin is remembered for a minute.

use std::time::Duration;

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};
use sea_orm::{DbBackend, FromQueryResult, Statement};

use crate::{state::AppState, tenancy::Scope};

pub struct Origins(moka::future::Cache<String, bool>);

impl Origins {
    pub fn new() -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        )
    }

    async fn registered(&self, state: &AppState, origin: &str) -> bool {
        if origin.len() > 300 {
            return false;
        }
        let lookup = async {
            #[derive(FromQueryResult)]
            struct Found {
                found: bool,
            }
            let tx = state.db.begin_reading(Scope::Anonymous).await.ok()?;
            let found = Found::find_by_statement(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT oauth_origin_registered($1) AS found",
                [origin.into()],
            ))
            .one(&tx)
            .await
            .ok()??;
            tx.commit().await.ok()?;
            Some(found.found)
        };
        match self.0.get(origin).await {
            Some(known) => known,
            None => {
                let found = lookup.await.unwrap_or(false);
                self.0.insert(origin.to_owned(), found).await;
                found
            }
        }
    }
}

impl Default for Origins {
    fn default() -> Self {
        Self::new()
    }
}

/// The middleware: answers preflights, and names a registered origin on the answer.
pub async fn allow<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let origin = req.header("origin").map(str::to_owned);
    let state = req.data::<AppState>().cloned();
    let allowed = match (&origin, &state) {
        (Some(origin), Some(state)) => state.oidc.origins.registered(state, origin).await,
        _ => false,
    };
    let mut resp = if req.method() == Method::OPTIONS && origin.is_some() {
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
        if allowed {
            let headers = resp.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        resp
    } else {
        match next.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        }
    };
    let headers = resp.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let (true, Some(origin)) = (allowed, origin)
        && let Ok(value) = HeaderValue::from_str(&origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    Ok(resp)
}
