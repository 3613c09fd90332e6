//! Webhooks at the console: the endpoints the caller manages with their status, a form that
//! registers one (its secret shown once, on the answer), and one endpoint's page with its
//! recent deliveries, redelivery, and disabling. The same service calls as `/api/v1/webhooks`.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use super::id_of;
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame},
        visitor::Me,
    },
    entity::webhook_endpoint,
    error::AppError,
    scope::{Caller, RequestScope},
    service::{
        Page,
        webhooks::{
            EVENT_TYPES, Setup,
            deliveries::{self, Attempt},
            endpoints::{self, Draft},
        },
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<webhook_endpoint::Model>,
    form: NewForm,
    types: &'static [&'static str],
    errors: Errors,
    /// An endpoint just registered and its secret, shown this once.
    made: Option<(webhook_endpoint::Model, String)>,
}

#[derive(Template)]
#[template(path = "console/webhooks_one.html")]
struct EndpointPage {
    frame: Frame,
    w: webhook_endpoint::Model,
    attempts: Vec<Attempt>,
}

/// The registration form as posted.
#[derive(Default)]
struct NewForm {
    url: String,
    description: String,
    types: Vec<String>,
}

impl NewForm {
    fn of(fields: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (name, value) in fields {
            match name.as_str() {
                "url" => form.url = value,
                "description" => form.description = value,
                "event_type" => form.types.push(value),
                _ => {}
            }
        }
        form
    }

    fn wants(&self, t: &str) -> bool {
        self.types.iter().any(|x| x == t)
    }

    fn draft(&self) -> Draft {
        Draft {
            url: Some(self.url.trim().to_owned()),
            description: Some(self.description.trim().to_owned()),
            event_types: Some(self.types.clone()),
            ..Draft::default()
        }
    }
}

async fn committed<T>(scope: RequestScope, result: Result<T, AppError>) -> Result<T, AppError> {
    let value = result?;
    scope.commit().await?;
    Ok(value)
}

async fn list_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    (form, errors, made): (NewForm, Errors, Option<(webhook_endpoint::Model, String)>),
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Webhooks, Action::List).await?;
    let listed = endpoints::list(&scope, Page::parse(Some(100), None)?).await;
    let (rows, _) = committed(scope, listed).await?;
    let frame = Frame::of(state, req, me, "Webhooks", "/console/webhooks").await?;
    let status = errors.status();
    let page = ListPage {
        frame,
        rows,
        form,
        types: &EVENT_TYPES,
        errors,
        made,
    };
    Ok(page::render(status, &page))
}

/// The endpoints and the registration form.
#[handler]
pub async fn list(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    list_page(&state, req, &me, (NewForm::default(), Errors::none(), None)).await
}

/// Registers an endpoint (a recent second factor first); its secret is on this answer only.
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let form = NewForm::of(fields);
    let scope = state.begin(&me, Resource::Webhooks, Action::Create).await?;
    let setup = Setup::of(&state.auth.mfa, &state.settings.webhooks);
    let made = endpoints::create(&scope, setup, form.draft()).await;
    match committed(scope, made).await {
        Ok((w, secret)) => {
            let shown = (
                NewForm::default(),
                Errors::none(),
                Some((w, secret.expose().clone())),
            );
            list_page(&state, req, &me, shown).await
        }
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            list_page(&state, req, &me, (form, errors, None)).await
        }
    }
}

/// One endpoint and its last 50 attempts.
#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "webhook")?;
    let scope = state.begin(&me, Resource::Webhooks, Action::Read).await?;
    let found = async {
        let w = endpoints::get(&scope, id).await?;
        let (attempts, _) = deliveries::list(&scope, id, Page::parse(Some(50), None)?).await?;
        Ok((w, attempts))
    };
    let found = found.await;
    let (w, attempts) = committed(scope, found).await?;
    let frame = Frame::of(&state, req, &me, "Webhook", "/console/webhooks").await?;
    Ok(page::render(
        StatusCode::OK,
        &EndpointPage { frame, w, attempts },
    ))
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: bool,
}

/// Disables an endpoint (nothing is sent or queued for it) or enables it again.
#[handler]
pub async fn activate(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<EnabledForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "webhook")?;
    let scope = state.begin(&me, Resource::Webhooks, Action::Update).await?;
    let setup = Setup::of(&state.auth.mfa, &state.settings.webhooks);
    let change = Draft {
        enabled: Some(form.enabled),
        ..Draft::default()
    };
    let changed = endpoints::update(&scope, setup, id, change).await;
    let w = committed(scope, changed).await?;
    let notice = match w.enabled {
        true => "The endpoint is enabled: queued events go out now.",
        false => "The endpoint is disabled: nothing is sent or queued for it.",
    };
    Ok(page::done(
        req,
        &state,
        &format!("/console/webhooks/{id}"),
        notice,
    ))
}

/// Delivers one event again, with the same `webhook-id`.
#[handler]
pub async fn redeliver(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path((id, event)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let (id, event) = (id_of(&id, "webhook")?, id_of(&event, "event")?);
    let scope = state.begin(&me, Resource::Webhooks, Action::Update).await?;
    let queued = deliveries::redeliver(&scope, id, event).await;
    committed(scope, queued).await?;
    let notice = "The event is queued again: it goes out shortly.";
    Ok(page::done(
        req,
        &state,
        &format!("/console/webhooks/{id}"),
        notice,
    ))
}
