//! What a principal (or an admin) does to a person from their page, each a form posted to
//! `/console/staff/{id}/…` and done as the JSON API's `/users/{id}` does it: the same grant,
//! the same service, the same step-up. Each answers with the person's page and a notice of
//! what happened (the staff list after a deletion), or the page with the API's errors.

use poem::{
    Request, Response, handler,
    web::{Data, Form, Path},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    id_of,
    person::{DetailsForm, render, role_change},
};
use crate::{
    authz::{Action, Resource},
    console::{
        form::Errors,
        page::{self, Failure},
        visitor::Me,
    },
    error::AppError,
    scope::Caller,
    service::{
        mfa,
        users::{edit, manage},
    },
    state::AppState,
};

/// Back to the person's page saying what was done, or the page with what went wrong.
async fn answer(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    outcome: Result<String, AppError>,
    details: Option<DetailsForm>,
) -> Result<Response, Failure> {
    match outcome {
        Ok(notice) => Ok(page::done(
            req,
            state,
            &format!("/console/staff/{id}"),
            &notice,
        )),
        Err(err) => {
            let errors = Errors::shown(err, &[]).map_err(|e| Failure::from_request(e, req))?;
            render(state, req, me, id, details, errors).await
        }
    }
}

/// `PATCH /users/{id}` with the details form's four fields.
#[handler]
pub async fn save_details(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<DetailsForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let change = form.clone().update();
    let outcome = async {
        let grant = state.grant(&me, Resource::Users, Action::Update)?;
        let change = change.parse(id == me.user_id)?;
        let user = edit::update(&state, &grant, id, change).await?;
        Ok(format!("Saved {} {}.", user.first_name, user.last_name))
    };
    answer(&state, req, &me, id, outcome.await, Some(form)).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `PATCH /users/{id}` with a new role: built-in or a custom role of their dealership.
#[handler]
pub async fn role(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let outcome = async {
        let grant = state.grant(&me, Resource::Users, Action::Update)?;
        let change = role_change(form.role.clone());
        let user = edit::update(&state, &grant, id, change.parse(id == me.user_id)?).await?;
        let (name, role) = (format!("{} {}", user.first_name, user.last_name), form.role);
        Ok(format!("{name} is now {role}."))
    };
    answer(&state, req, &me, id, outcome.await, None).await
}

/// `PATCH /users/{id}/toggle-active`; deactivation ends their sessions.
#[handler]
pub async fn toggle_active(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let outcome = async {
        let scope = state.begin(&me, Resource::Users, Action::Update).await?;
        let user = edit::toggle_active(&scope, id).await?;
        scope.commit().await?;
        let name = format!("{} {}", user.first_name, user.last_name);
        Ok(match user.is_active {
            true => format!("Reactivated {name}: they can sign in again."),
            false => format!("Deactivated {name}: their sessions ended and they cannot sign in."),
        })
    };
    answer(&state, req, &me, id, outcome.await, None).await
}

/// `DELETE /users/{id}`: back to the list.
#[handler]
pub async fn delete(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let outcome = async {
        let scope = state.begin(&me, Resource::Users, Action::Delete).await?;
        manage::delete(&scope, id).await?;
        scope.commit().await
    };
    match outcome.await {
        Ok(()) => Ok(page::done(
            req,
            &state,
            "/console/staff",
            "Deleted: their sessions ended.",
        )),
        Err(err) => answer(&state, req, &me, id, Err(err), None).await,
    }
}

/// `DELETE /users/{id}/mfa`, with a recent second factor of the caller's own.
#[handler]
pub async fn reset_mfa(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let outcome = async {
        let scope = state.begin(&me, Resource::Users, Action::Update).await?;
        scope.require_step_up().await?;
        mfa::reset::reset(&state, &scope, id).await?;
        scope.commit().await?;
        Ok(
            "Second factor reset: their factors and recovery codes are gone, their sessions \
            ended, and they were mailed."
                .to_owned(),
        )
    };
    answer(&state, req, &me, id, outcome.await, None).await
}

/// `POST /users/{id}/sessions/revoke`.
#[handler]
pub async fn end_sessions(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    let outcome = async {
        let scope = state.begin(&me, Resource::Sessions, Action::Delete).await?;
        let ended = manage::end_sessions(&scope, id).await?;
        scope.commit().await?;
        Ok(format!(
            "Ended {ended} session(s): they must sign in again."
        ))
    };
    answer(&state, req, &me, id, outcome.await, None).await
}
