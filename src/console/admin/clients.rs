//! OpenID clients: every registered one; a registration form; one client's page: its
//! settings, a secret rotation (the new secret shown once, on the answer to the rotation, as a
//! new client's is on the answer that registers it), disabling and deletion. The same service
//! calls as `/api/v1/oauth-clients`; every change asks for a recent second factor.

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    At, Pager,
    client_form::{Choices, ClientForm, on_form},
    committed, id_of, platform, platform_grant,
};
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        list::{Choice, dealership_choices},
        page::{self, Failure, Frame},
        visitor::Me,
    },
    error::AppError,
    scope::Caller,
    service::{
        Page, dealer_groups,
        oauth::{
            registration::{Draft, Rules},
            registry::{self, Registered},
        },
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<Registered>,
    pager: Pager,
}

#[derive(Template)]
#[template(path = "console/clients_new.html")]
struct NewPage {
    frame: Frame,
    form: ClientForm,
    choices: Choices,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/clients_one.html")]
struct ClientPage {
    frame: Frame,
    c: Registered,
    form: ClientForm,
    choices: Choices,
    errors: Errors,
    /// A secret just made, shown this once.
    secret: Option<String>,
}

/// Every client, newest first, 50 a page.
#[handler]
pub async fn list(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Query(at): Query<At>,
) -> Result<Response, Failure> {
    let scope = platform(&state, &me, Resource::OauthClients, Action::List).await?;
    let page = at.page()?;
    let listed = registry::list(&scope, page).await;
    let (rows, total) = committed(scope, listed).await?;
    let frame = Frame::of(&state, req, &me, "OpenID clients", "/console/clients").await?;
    let pager = Pager::of("/console/clients", &[], page.offset as i64, total);
    Ok(page::render(
        StatusCode::OK,
        &ListPage { frame, rows, pager },
    ))
}

/// What the form offers `me` for `form`: the server's algorithms, the first 100 dealerships
/// and groups by name.
async fn choices(state: &AppState, me: &Caller, form: &ClientForm) -> Result<Choices, AppError> {
    let algs = state.oidc.keys.algs().iter().map(|a| a.as_str()).collect();
    let dealerships = dealership_choices(state, me).await?;
    let scope = platform(state, me, Resource::DealerGroups, Action::List).await?;
    let listed = dealer_groups::list(&scope, Page::parse(Some(100), None)?).await;
    let groups = committed(scope, listed)
        .await?
        .0
        .into_iter()
        .map(|g| Choice::new(g.group.id.to_string(), g.group.name))
        .collect();
    Ok(Choices::new(algs, (dealerships, groups), form))
}

async fn new_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    (form, errors): (ClientForm, Errors),
) -> Result<Response, Failure> {
    platform_grant(state, me, Resource::OauthClients, Action::Create)?;
    let choices = choices(state, me, &form).await?;
    let frame = Frame::of(state, req, me, "Register a client", "/console/clients").await?;
    let page = NewPage {
        frame,
        form,
        choices,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// The registration form.
#[handler]
pub async fn new(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    new_page(&state, req, &me, (ClientForm::blank(), Errors::none())).await
}

/// Registers a client and answers its page, with a confidential client's secret shown once.
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let form = ClientForm::of(fields);
    let scope = platform(&state, &me, Resource::OauthClients, Action::Create).await?;
    let rules = Rules::of(&state);
    let made = async { registry::create(&scope, form.draft(true)?.registration(&rules)?).await };
    let made = made.await;
    match committed(scope, made).await {
        Ok((client, secret)) => {
            let notice = format!("{} was registered.", client.client.name);
            let shown = Shown::secret(secret.map(|s| s.expose().clone()), notice);
            client_page(&state, req, &me, client.client.id, shown).await
        }
        Err(err) => {
            let errors = Errors::shown(on_form(err), &[])?;
            new_page(&state, req, &me, (form, errors)).await
        }
    }
}

/// What a client's page shows besides the client: what was typed and its errors, or a secret
/// just made (with the notice of what made it).
struct Shown {
    form: Option<ClientForm>,
    errors: Errors,
    secret: Option<String>,
    notice: Option<String>,
}

impl Shown {
    fn nothing() -> Self {
        Self::typed(None, Errors::none())
    }

    fn typed(form: Option<ClientForm>, errors: Errors) -> Self {
        Self {
            form,
            errors,
            secret: None,
            notice: None,
        }
    }

    fn secret(secret: Option<String>, notice: String) -> Self {
        Self {
            secret,
            notice: Some(notice),
            ..Self::nothing()
        }
    }
}

async fn client_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    shown: Shown,
) -> Result<Response, Failure> {
    let scope = platform(state, me, Resource::OauthClients, Action::Read).await?;
    let found = registry::get(&scope, id).await;
    let c = committed(scope, found).await?;
    let form = shown
        .form
        .unwrap_or_else(|| ClientForm::of_client(&c.client));
    let choices = choices(state, me, &form).await?;
    let mut frame = Frame::of(state, req, me, c.client.name.clone(), "/console/clients").await?;
    frame.notice = shown.notice.or(frame.notice);
    let status = match (&shown.secret, shown.errors.status()) {
        (Some(_), _) => StatusCode::OK,
        (None, status) => status,
    };
    let page = ClientPage {
        frame,
        c,
        form,
        choices,
        errors: shown.errors,
        secret: shown.secret,
    };
    Ok(page::render(status, &page))
}

/// Back to the client's page with `err` shown beside what was typed, if a form can show it.
async fn refused(
    state: &AppState,
    req: &Request,
    me: &Caller,
    (id, form): (Uuid, Option<ClientForm>),
    err: AppError,
) -> Result<Response, Failure> {
    let errors = Errors::shown(on_form(err), &[])?;
    client_page(state, req, me, id, Shown::typed(form, errors)).await
}

#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "client")?;
    client_page(&state, req, &me, id, Shown::nothing()).await
}

fn done(req: &Request, state: &AppState, id: Uuid, notice: &str) -> Response {
    page::done(req, state, &format!("/console/clients/{id}"), notice)
}

/// Saves the client's settings, all of them as the form shows them.
#[handler]
pub async fn edit(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "client")?;
    let form = ClientForm::of(fields);
    let scope = platform(&state, &me, Resource::OauthClients, Action::Update).await?;
    let rules = Rules::of(&state);
    let saved = async { registry::update(&scope, id, form.draft(false)?.change(&rules)?).await };
    let saved = saved.await;
    match committed(scope, saved).await {
        Ok(_) => Ok(done(req, &state, id, "Saved.")),
        Err(err) => refused(&state, req, &me, (id, Some(form)), err).await,
    }
}

/// A new secret, shown once on the answer; the previous one works for the overlap.
#[handler]
pub async fn rotate(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "client")?;
    let scope = platform(&state, &me, Resource::OauthClients, Action::Update).await?;
    let overlap = state.settings.oidc.secret_overlap_secs;
    let rotated = registry::rotate_secret(&scope, id, overlap).await;
    match committed(scope, rotated).await {
        Ok((_, secret)) => {
            let notice = "A new secret was made: the previous one works until it expires.";
            let shown = Shown::secret(Some(secret.expose().clone()), notice.into());
            client_page(&state, req, &me, id, shown).await
        }
        Err(err) => refused(&state, req, &me, (id, None), err).await,
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    is_active: bool,
}

/// Disables a client (its sign-ins end at once, everywhere) or enables it again.
#[handler]
pub async fn activate(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "client")?;
    let scope = platform(&state, &me, Resource::OauthClients, Action::Update).await?;
    let change = Draft {
        is_active: Some(form.is_active),
        ..Draft::default()
    };
    let changed = async { registry::update(&scope, id, change.change(&Rules::of(&state))?).await };
    let changed = changed.await;
    match committed(scope, changed).await {
        Ok(c) if c.client.is_active => Ok(done(req, &state, id, "The client is enabled.")),
        Ok(_) => Ok(done(
            req,
            &state,
            id,
            "The client is disabled: everyone signed in to it was signed out.",
        )),
        Err(err) => refused(&state, req, &me, (id, None), err).await,
    }
}

/// Deletes a client; everyone signed in to it is signed out.
#[handler]
pub async fn delete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "client")?;
    let scope = platform(&state, &me, Resource::OauthClients, Action::Delete).await?;
    let deleted = registry::delete(&scope, id).await;
    committed(scope, deleted).await?;
    Ok(page::done(
        req,
        &state,
        "/console/clients",
        "The client was deleted.",
    ))
}
