//! Staff of the caller's dealership(s): the directory ([`list`]), a person's page and what a
//! principal does to them ([`person`], [`actions`]), adding someone ([`new`]), and invitations
//! ([`invitations`]). Each handler asks the same services, with the same grants, as the JSON
//! API's `/users` and `/invitations`; what a form offers (roles, dealerships) comes from the
//! services too.

mod actions;
mod invitations;
mod list;
mod new;
mod person;

use poem::{Route, get, post};
use uuid::Uuid;

use super::page::role_label;
use crate::{
    authz::{Action, Resource},
    error::AppError,
    scope::Caller,
    service::{Page, roles},
    state::AppState,
};

/// This area's pages, added to the console's routes.
pub fn mount(routes: Route) -> Route {
    routes
        .at("/staff", get(list::show))
        .at("/staff/new", get(new::show).post(new::create))
        .at("/staff/:id", get(person::show))
        .at("/staff/:id/edit", post(actions::save_details))
        .at("/staff/:id/role", post(actions::role))
        .at("/staff/:id/active", post(actions::toggle_active))
        .at("/staff/:id/delete", post(actions::delete))
        .at("/staff/:id/second-factor", post(actions::reset_mfa))
        .at("/staff/:id/sessions", post(actions::end_sessions))
        .at(
            "/invitations",
            get(invitations::show).post(invitations::invite),
        )
        .at("/invitations/:id/resend", post(invitations::resend))
        .at("/invitations/:id/revoke", post(invitations::revoke))
}

pub(super) use super::list::{Choice, dealership_choices, id_of};

/// A custom role as a choice (the API takes its name) and what it is named by (its id).
pub struct CustomChoice {
    pub id: Uuid,
    pub choice: Choice,
}

/// The roles the caller may hand out, as the services bound them: built-in roles up to their
/// rank, then the custom roles of `dealership_id` (at a wider reach: of every dealership they
/// see) whose permissions they hold. Without `roles:list`, the built-in roles alone.
async fn role_choices(
    state: &AppState,
    me: &Caller,
    dealership_id: Option<Uuid>,
) -> Result<(Vec<Choice>, Vec<CustomChoice>), AppError> {
    let builtin = roles::assign::builtin_offered(me)
        .into_iter()
        .map(|r| Choice::new(r.as_str(), role_label(r.as_str())))
        .collect();
    let Ok(grant) = state.grant(me, Resource::Roles, Action::List) else {
        return Ok((builtin, Vec::new()));
    };
    let scope = state.open(&grant).await?;
    let (found, _) = roles::list(&scope, dealership_id, Page::parse(Some(100), None)?).await?;
    let mut custom: Vec<CustomChoice> = Vec::new();
    for role in found.iter().filter(|r| roles::assign::offered(&scope, r)) {
        if custom.iter().all(|c| c.choice.value != role.name) {
            let label = format!("{} (custom, as {})", role.name, role.base_role.as_str());
            let choice = Choice::new(role.name.clone(), label);
            custom.push(CustomChoice {
                id: role.id,
                choice,
            });
        }
    }
    scope.commit().await?;
    Ok((builtin, custom))
}

/// A time as the console shows it.
fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A blank form field is left out.
fn given(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|v| !v.is_empty())
}
