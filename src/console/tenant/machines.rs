//! `/console/service-accounts`: the service accounts at the caller's reach (name, role, keys
//! with their expiry and last use), the form that makes one (its key shown once, on the page
//! that answers the form), and revoking one — each as `/api/v1/service-accounts` does it.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Form, Path},
};
use serde::Deserialize;

use super::id_of;
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    domain::{RoleName, ServiceAccountName},
    error::AppError,
    http::fields,
    scope::Caller,
    service::{
        Page,
        roles::assign::builtin_offered,
        service_accounts::{self, Described, NewServiceAccount},
    },
    state::AppState,
};

const HERE: &str = "/console/service-accounts";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MachineForm {
    pub name: String,
    pub role: String,
}

impl MachineForm {
    fn parse(&self) -> Result<NewServiceAccount, AppError> {
        let (name, role) = fields::check((
            ("name", ServiceAccountName::parse(&self.name)),
            ("role", RoleName::parse(&self.role)),
        ))?;
        Ok(NewServiceAccount {
            name,
            role,
            dealership_id: None,
            group_id: None,
            expires_in_days: None,
        })
    }
}

pub struct KeyRow {
    pub id: String,
    pub expires: String,
    pub last_used: String,
    pub state: &'static str,
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub role: String,
    pub live: bool,
    pub last_used: String,
    pub keys: Vec<KeyRow>,
}

pub struct RoleChoice {
    pub value: String,
    pub label: String,
}

/// A key just made: shown on this page and never again.
pub struct Shown {
    pub name: String,
    pub api_key: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Template)]
#[template(path = "console/service_accounts.html")]
struct MachinesPage {
    frame: Frame,
    rows: Vec<Row>,
    total: u64,
    form: MachineForm,
    roles: Vec<RoleChoice>,
    shown: Option<Shown>,
    errors: Errors,
}

#[handler]
pub async fn list(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    let form = MachineForm {
        role: "agent".to_owned(),
        ..MachineForm::default()
    };
    render(&state, req, &me, form, None, Errors::none()).await
}

/// `POST /service-accounts`: the page again, with the new key shown once, or the API's errors.
#[handler]
pub async fn create(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Form(form): Form<MachineForm>,
) -> Result<Response, Failure> {
    let outcome = async {
        let new = form.parse()?;
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Create)
            .await?;
        let settings = &state.settings.service_accounts;
        let made = service_accounts::create(&scope, new, settings).await?;
        scope.commit().await?;
        Ok(made)
    };
    match outcome.await {
        Ok((made, key)) => {
            let shown = Shown {
                name: made.account.name,
                client_id: key.key.id.to_string(),
                api_key: key.api_key,
                client_secret: key.secret,
            };
            render(
                &state,
                req,
                &me,
                MachineForm::default(),
                Some(shown),
                Errors::none(),
            )
            .await
        }
        Err(err) => render(&state, req, &me, form, None, Errors::shown(err, &[])?).await,
    }
}

/// `POST /service-accounts/{id}/revoke`: every key of it stops working at once.
#[handler]
pub async fn revoke(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "service account")?;
    let outcome = async {
        let scope = state
            .begin(&me, Resource::ServiceAccounts, Action::Delete)
            .await?;
        service_accounts::revoke(&scope, id).await?;
        scope.commit().await
    };
    match outcome.await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            HERE,
            "Revoked: its keys no longer work.",
        )),
        Err(err) => {
            let errors = Errors::shown(err, &[])?;
            render(&state, req, &me, MachineForm::default(), None, errors).await
        }
    }
}

async fn render(
    state: &AppState,
    req: &Request,
    me: &Caller,
    form: MachineForm,
    shown: Option<Shown>,
    errors: Errors,
) -> Result<Response, Failure> {
    let scope = state
        .begin(me, Resource::ServiceAccounts, Action::List)
        .await?;
    let (found, total) = service_accounts::list(&scope, Page::parse(Some(100), None)?).await?;
    scope.commit().await?;
    let roles = builtin_offered(me)
        .into_iter()
        .map(|r| RoleChoice {
            value: r.as_str().to_owned(),
            label: role_label(r.as_str()),
        })
        .collect();
    let page = MachinesPage {
        frame: Frame::of(state, req, me, "Service accounts", HERE).await?,
        rows: found.into_iter().map(row).collect(),
        total,
        form,
        roles,
        shown,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn row(d: Described) -> Row {
    let now = chrono::Utc::now();
    let a = d.account;
    Row {
        id: a.id.to_string(),
        name: a.name,
        role: role_label(a.role.as_str()),
        live: a.revoked_at.is_none() && a.disabled_at.is_none(),
        last_used: when(a.last_used_at),
        keys: d
            .keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id.to_string(),
                expires: when(Some(k.expires_at)),
                last_used: match (k.last_used_at, &k.last_used_ip) {
                    (Some(at), Some(ip)) => format!("{} from {ip}", when(Some(at))),
                    (at, _) => when(at),
                },
                state: match (k.revoked_at, k.expires_at <= now) {
                    (Some(_), _) => "revoked",
                    (None, true) => "expired",
                    (None, false) => "live",
                },
            })
            .collect(),
    }
}
