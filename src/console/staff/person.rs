//! `GET /console/staff/{id}`: one person as `GET /api/v1/users/{id}` shows them (another
//! dealership's user is the not-found page), with the actions the caller may take on them.

use askama::Template;
use poem::{
    Request, Response, handler,
    web::{Data, Path},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{Choice, CustomChoice, id_of, role_choices, when};
use crate::{
    authz::{Action, Reach, Resource},
    console::{
        form::Errors,
        page::{self, Failure, Frame, role_label},
        visitor::Me,
    },
    domain::Role,
    entity::user,
    http::users::UpdateUser,
    scope::Caller,
    service::users::{
        directory,
        manage::{governs_account_of, outranks},
    },
    state::AppState,
};

/// The details form, as shown or as sent back.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct DetailsForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
}

impl DetailsForm {
    fn of(user: &user::Model) -> Self {
        Self {
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            phone: user.phone.clone().unwrap_or_default(),
        }
    }

    /// The API's edit of the same four fields (a blank phone clears it).
    pub fn update(self) -> UpdateUser {
        UpdateUser {
            email: Some(self.email),
            first_name: Some(self.first_name),
            last_name: Some(self.last_name),
            phone: Some(self.phone),
            role: None,
            is_active: None,
            password: None,
        }
    }
}

/// The API's edit of the role alone.
pub fn role_change(role: String) -> UpdateUser {
    UpdateUser {
        role: Some(role),
        email: None,
        first_name: None,
        last_name: None,
        phone: None,
        is_active: None,
        password: None,
    }
}

/// What the caller may do to this person, as the policy grants it and the services' rank
/// rules allow (the services check again when it is done).
pub struct May {
    pub edit: bool,
    pub account: bool,
    pub delete: bool,
    pub sessions: bool,
}

impl May {
    fn of(state: &AppState, me: &Caller, user: &user::Model) -> Self {
        let staff = |resource, action| {
            state
                .grant(me, resource, action)
                .is_ok_and(|g| g.reach() > Reach::Own)
        };
        let other = user.id != me.user_id;
        let governs = other && governs_account_of(me, user.role).is_ok();
        let outranks = outranks(me, user.role).is_ok();
        Self {
            edit: outranks && staff(Resource::Users, Action::Update),
            account: governs && staff(Resource::Users, Action::Update),
            delete: governs && staff(Resource::Users, Action::Delete),
            sessions: outranks && staff(Resource::Sessions, Action::Delete),
        }
    }
}

pub struct MembershipRow {
    pub place: String,
    pub role: String,
    pub last_login: String,
}

pub struct RoleOption {
    pub choice: Choice,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/staff_person.html")]
struct PersonPage {
    frame: Frame,
    user: user::Model,
    role: String,
    memberships: Vec<MembershipRow>,
    may: May,
    roles: Vec<RoleOption>,
    details: DetailsForm,
    errors: Errors,
}

#[handler]
pub async fn show(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let id = id_of(&id, "user")?;
    render(&state, req, &me, id, None, Errors::none()).await
}

/// The person's page, with `details` as sent (else as stored) and `errors` of the last action.
pub async fn render(
    state: &AppState,
    req: &Request,
    me: &Caller,
    id: Uuid,
    details: Option<DetailsForm>,
    errors: Errors,
) -> Result<Response, Failure> {
    let scope = state.begin(me, Resource::Users, Action::Read).await?;
    let user = directory::get(&scope, id).await?;
    scope.commit().await?;
    let (builtin, custom) = role_choices(state, me, user.dealership_id).await?;
    let role_of = |role: Role, custom_id: Option<Uuid>| {
        let named = custom.iter().find(|c| Some(c.id) == custom_id);
        match (named, custom_id) {
            (Some(c), _) => format!("{} ({})", c.choice.value, role.as_str()),
            (None, Some(_)) => format!("{} (custom role)", role_label(role.as_str())),
            (None, None) => role_label(role.as_str()),
        }
    };
    let memberships = user::Profile::from(user.clone())
        .memberships
        .into_iter()
        .map(|m| MembershipRow {
            role: role_of(m.role, m.custom_role_id),
            last_login: when(m.last_login),
            place: (m.dealership_name.or(m.group_name))
                .unwrap_or_else(|| place_of(m.dealership_id, m.group_id)),
        })
        .collect();
    let role = role_of(user.role, user.custom_role_id);
    let roles = role_options(builtin, custom, &user);
    let title = format!("{} {}", user.first_name, user.last_name);
    let page = PersonPage {
        frame: Frame::of(state, req, me, title, "/console/staff").await?,
        role,
        may: May::of(state, me, &user),
        details: details.unwrap_or_else(|| DetailsForm::of(&user)),
        memberships,
        roles,
        user,
        errors,
    };
    Ok(page::render(page.errors.status(), &page))
}

/// The role choices, the person's own selected.
fn role_options(
    builtin: Vec<Choice>,
    custom: Vec<CustomChoice>,
    user: &user::Model,
) -> Vec<RoleOption> {
    let builtin = builtin.into_iter().map(|choice| RoleOption {
        current: user.custom_role_id.is_none() && choice.value == user.role.as_str(),
        choice,
    });
    let custom = custom.into_iter().map(|c| RoleOption {
        current: Some(c.id) == user.custom_role_id,
        choice: c.choice,
    });
    builtin.chain(custom).collect()
}

fn place_of(dealership: Option<Uuid>, group: Option<Uuid>) -> String {
    match (dealership, group) {
        (Some(_), _) => "A dealership".to_owned(),
        (None, Some(_)) => "A dealer group".to_owned(),
        (None, None) => "The platform".to_owned(),
    }
}
