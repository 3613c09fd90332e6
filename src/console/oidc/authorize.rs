//! The authorization endpoint's pages: `/oauth2/authorize` checks the request, then the
//! browser's console session decides what comes next — sign in (or again, for `prompt=login`
//! and `max_age`), a second factor (`acr_values`), the dealership (the picker, among the
//! memberships the client may be used in), consent (third-party clients, remembered) — and at
//! the end a code goes back to the registered redirect URI with `state` and `iss` (RFC 9207).
//! A request waiting on a page is kept sealed in a cookie ([`Jar::Authorize`]).

use askama::Template;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;
use uuid::Uuid;

use super::flow;
use crate::{
    console::{
        cookies::Jar,
        page::{self, Failure, Frame},
        session::Visitor,
    },
    oidc::{
        error::{Refusal, with_query},
        request::{self, Pending},
    },
    service::oauth::consents,
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/oidc/refused.html")]
struct RefusedPage {
    frame: Frame,
    message: String,
}

#[derive(Template)]
#[template(path = "console/oidc/pick.html")]
pub(super) struct PickPage {
    pub frame: Frame,
    pub client: String,
    pub sealed: String,
    pub choices: Vec<(Uuid, String)>,
}

#[derive(Template)]
#[template(path = "console/oidc/consent.html")]
pub(super) struct ConsentPage {
    pub frame: Frame,
    pub client: String,
    pub sealed: String,
    pub scopes: Vec<&'static str>,
}

/// `GET /oauth2/authorize`: the request is checked, then goes on as far as it can.
#[handler]
pub async fn authorize(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
) -> Result<Response, Failure> {
    let (params, repeated) = request::parameters(req.uri().query().unwrap_or(""));
    let client = match params
        .get("client_id")
        .and_then(|id| Uuid::try_parse(id).ok())
    {
        Some(id) => flow::client(&state, id).await?,
        None => None,
    };
    let Some(client) = client else {
        return Ok(refused(
            req,
            &state,
            "This app is not registered here (unknown client_id).",
        ));
    };
    match request::read(&params, repeated, &client) {
        Ok(checked) => flow::proceed(req, &state, &visitor, &client, Pending::new(checked)).await,
        Err(refusal) => Ok(answer_refusal(req, &state, refusal)),
    }
}

/// Back from sign-in or step-up: the request waiting in the cookie goes on.
#[handler]
pub async fn resume(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
) -> Result<Response, Failure> {
    let pending = Jar::Authorize
        .read(req, &state.settings.console)
        .and_then(|sealed| Pending::open(&state, sealed));
    let Some(pending) = pending else {
        return Ok(refused(
            req,
            &state,
            "That sign-in request has expired: start again from the app.",
        ));
    };
    continue_with(req, &state, &visitor, pending).await
}

#[derive(Deserialize)]
pub struct Chosen {
    #[serde(default)]
    request: String,
    #[serde(default)]
    membership: String,
    #[serde(default)]
    decision: String,
}

/// The picker's answer: the membership the app is to be used in.
#[handler]
pub async fn choose(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
    Form(form): Form<Chosen>,
) -> Result<Response, Failure> {
    let Some(mut pending) = Pending::open(&state, &form.request) else {
        return Ok(refused(
            req,
            &state,
            "That sign-in request has expired: start again from the app.",
        ));
    };
    pending.membership = Uuid::try_parse(&form.membership).ok();
    continue_with(req, &state, &visitor, pending).await
}

/// The consent page's answer: allowed (remembered for this person and app) or denied.
#[handler]
pub async fn consent(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
    Form(form): Form<Chosen>,
) -> Result<Response, Failure> {
    let Some(mut pending) = Pending::open(&state, &form.request) else {
        return Ok(refused(
            req,
            &state,
            "That sign-in request has expired: start again from the app.",
        ));
    };
    let Some(me) = &visitor.caller else {
        return continue_with(req, &state, &visitor, pending).await;
    };
    if form.decision != "allow" {
        let refusal = flow::back(&pending.request, "access_denied", "the person declined");
        return Ok(answer_refusal(req, &state, refusal));
    }
    let tx = state.db.begin(me.scope()).await?;
    let r = &pending.request;
    consents::grant(&tx, me.person_id, r.client_id, &r.scopes).await?;
    let event = crate::service::audit::Event {
        dealership_id: me.dealership_id,
        actor_id: Some(me.user_id),
        action: "oauth.consent_granted",
        target_type: "oauth_client",
        target_id: Some(r.client_id),
        changes: Some(serde_json::json!({ "scopes": r.scopes })),
    };
    crate::service::audit::record(&tx, &me.meta, event).await?;
    tx.commit().await?;
    pending.consented_by = Some(me.person_id);
    continue_with(req, &state, &visitor, pending).await
}

async fn continue_with(
    req: &Request,
    state: &AppState,
    visitor: &Visitor,
    pending: Pending,
) -> Result<Response, Failure> {
    match flow::client(state, pending.request.client_id).await? {
        Some(client) => flow::proceed(req, state, visitor, &client, pending).await,
        None => Ok(refused(
            req,
            state,
            "This app is no longer registered here.",
        )),
    }
}

/// A refusal: a page when the redirect URI is not to be trusted, else back to the client.
pub(super) fn answer_refusal(req: &Request, state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => refused(req, state, message),
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => {
            let mut pairs = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &client_state {
                pairs.push(("state", s));
            }
            pairs.push(("iss", &state.oidc.issuer));
            flow::done(state, &with_query(&redirect_uri, &pairs))
        }
    }
}

pub(super) fn refused(req: &Request, state: &AppState, message: &str) -> Response {
    let page = RefusedPage {
        frame: Frame::anonymous(req, state, "Sign-in request refused"),
        message: message.to_owned(),
    };
    let mut resp = page::render(StatusCode::BAD_REQUEST, &page);
    if let Ok(value) = Jar::Authorize.clear(&state.settings.console).parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}
