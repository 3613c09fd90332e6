//! What every console page shares: the frame (who is signed in and where, the menu the policy
//! allows them, the dealership switcher, the notice of what the last action did) and the
//! answers that are not pages of their own: redirects, notices, errors in the API's words.

use super::menu::MENU;
use askama::Template;
use poem::{
    IntoResponse, Request, Response,
    http::{StatusCode, header},
};

use super::{cookies::Jar, session::Visitor};
use crate::{
    authz::{Action, Reach, Resource},
    error::AppError,
    http::error::ApiError,
    scope::Caller,
    service::account,
    state::AppState,
};

/// The frame around a page's own content (`base.html`).
pub struct Frame {
    pub title: String,
    pub csrf: String,
    pub me: Option<Who>,
    pub nav: Vec<Link>,
    /// Where the caller may switch to (shown when there is more than one).
    pub places: Vec<Place>,
    /// What the last action did, shown once.
    pub notice: Option<String>,
}

pub struct Who {
    pub name: String,
    pub email: String,
    pub role: String,
    pub place: String,
}

pub struct Link {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

pub struct Place {
    /// `d:<dealership id>` or `g:<group id>`, as the switch form sends it.
    pub value: String,
    pub label: String,
    pub current: bool,
}

impl Frame {
    /// The frame for a visitor who is not signed in (sign-in, reset, invitation pages).
    pub fn anonymous(req: &Request, state: &AppState, title: impl Into<String>) -> Self {
        let visitor = req.extensions().get::<Visitor>();
        Self {
            title: title.into(),
            csrf: visitor.map(|v| v.csrf.clone()).unwrap_or_default(),
            me: None,
            nav: Vec::new(),
            places: Vec::new(),
            notice: notice_of(req, state),
        }
    }

    /// The frame for the signed-in caller at `here` (the path of the page), from their cached
    /// profile (no query when it is cached).
    pub async fn of(
        state: &AppState,
        req: &Request,
        me: &Caller,
        title: impl Into<String>,
        here: &str,
    ) -> Result<Self, AppError> {
        let grant = state.grant_own(me, Resource::Users, Action::Read)?;
        let profile = account::profile(state, &grant).await?;
        let current = |d: Option<uuid::Uuid>, g: Option<uuid::Uuid>| {
            d == me.dealership_id && g == me.group_id
        };
        let place_of = |d: Option<&str>, g: Option<&str>| match (d, g) {
            (Some(d), _) => d.to_owned(),
            (None, Some(g)) => format!("{g} (group)"),
            (None, None) => "Platform".to_owned(),
        };
        let here_place = profile
            .memberships
            .iter()
            .find(|m| current(m.dealership_id, m.group_id))
            .map(|m| place_of(m.dealership_name.as_deref(), m.group_name.as_deref()))
            .unwrap_or_else(|| place_of(None, None));
        let places = profile
            .memberships
            .iter()
            .filter_map(|m| {
                let value = match (m.dealership_id, m.group_id) {
                    (Some(d), _) => format!("d:{d}"),
                    (None, Some(g)) => format!("g:{g}"),
                    (None, None) => return None,
                };
                Some(Place {
                    value,
                    label: format!(
                        "{} — {}",
                        place_of(m.dealership_name.as_deref(), m.group_name.as_deref()),
                        role_label(m.role.as_str())
                    ),
                    current: current(m.dealership_id, m.group_id),
                })
            })
            .collect();
        let visitor = req.extensions().get::<Visitor>();
        Ok(Self {
            title: title.into(),
            csrf: visitor.map(|v| v.csrf.clone()).unwrap_or_default(),
            me: Some(Who {
                name: format!("{} {}", profile.first_name, profile.last_name),
                email: profile.email.clone(),
                role: role_label(me.role.as_str()),
                place: here_place,
            }),
            nav: menu(state, me, here),
            places,
            notice: notice_of(req, state),
        })
    }
}

fn menu(state: &AppState, me: &Caller, here: &str) -> Vec<Link> {
    let mut links = vec![Link {
        label: "My account",
        href: "/console/account",
        current: here.starts_with("/console/account"),
    }];
    links.extend(
        MENU.iter()
            .filter(|(_, _, resource, action)| {
                state
                    .grant(me, *resource, *action)
                    .is_ok_and(|g| g.reach() > Reach::Own)
            })
            .filter(|(_, href, resource, _)| {
                // the platform's lists are the admin's; a principal's own dealership is one page
                let platform = *href == "/console/dealerships";
                let own_dealership = *href == "/console/dealership";
                let any = state
                    .grant(me, *resource, Action::List)
                    .is_ok_and(|g| g.reach() == Reach::Any);
                (!platform || any)
                    && (!own_dealership || me.dealership_id.is_some() || me.group_id.is_some())
            })
            .map(|(label, href, ..)| Link {
                label,
                href,
                current: here.starts_with(href),
            }),
    );
    links
}

/// `group_principal` → `Group principal`.
pub fn role_label(role: &str) -> String {
    let spaced = role.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The notice the previous answer left (`Jar::Flash`), if any.
fn notice_of(req: &Request, state: &AppState) -> Option<String> {
    let raw = Jar::Flash.read(req, &state.settings.console)?;
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw).ok()?;
    String::from_utf8(bytes).ok()
}

/// A page, whole: HTML (never cached: the headers middleware says so). The notice it shows
/// was cleared by the session middleware.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "a console page failed to render");
            bare_error(500, "This page could not be shown.")
        }
    }
}

/// See other: after an action, to the page showing its result, with `notice` saying what
/// happened. htmx requests are told with `HX-Location` (a plain redirect would swap the page
/// into the element that asked).
pub fn done(req: &Request, state: &AppState, to: &str, notice: &str) -> Response {
    let flash = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        notice.as_bytes(),
    );
    let mut resp = redirect(req, to);
    if let Ok(value) = Jar::Flash
        .set(&state.settings.console, &flash, Some(60))
        .parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}

pub fn redirect(req: &Request, to: &str) -> Response {
    if req.header("hx-request").is_some() {
        Response::builder()
            .status(StatusCode::OK)
            .header("HX-Redirect", to)
            .finish()
    } else {
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, to)
            .finish()
    }
}

/// A console failure: answered as a page, or as a redirect to the page that resolves it
/// (sign in, enrol, step up: the step-up page returns to the page the browser came from).
pub struct Failure {
    err: AppError,
    htmx: bool,
}

impl Failure {
    /// For an htmx request the redirect is `HX-Redirect`: a plain one would be followed
    /// inside the element that asked.
    pub fn from_request(err: AppError, req: &Request) -> Self {
        Self {
            err,
            htmx: req.header("hx-request").is_some(),
        }
    }
}

impl From<AppError> for Failure {
    fn from(err: AppError) -> Self {
        Self { err, htmx: false }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    details: Vec<crate::error::FieldError>,
    request_id: String,
}

impl From<Failure> for poem::Error {
    fn from(failure: Failure) -> Self {
        poem::Error::from_response(failure.into_response())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let to = match &self.err {
            AppError::Unauthenticated => Some("/console/sign-in".to_owned()),
            AppError::MfaEnrolmentRequired => Some("/console/enrol".to_owned()),
            AppError::StepUpRequired => Some("/console/step-up".to_owned()),
            _ => None,
        };
        if let Some(to) = to {
            let header = if self.htmx { "HX-Redirect" } else { "location" };
            let status = if self.htmx { 200 } else { 303 };
            return Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::SEE_OTHER))
                .header(header, to)
                .finish();
        }
        let message = self.err.to_string();
        let details = match &self.err {
            AppError::Validation(fields) | AppError::NotReady(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let status = ApiError::from(self.err).into_response().status();
        let title = match status.as_u16() {
            403 => "Not allowed",
            404 => "Not found",
            409 => "Conflict",
            422 => "Check what was entered",
            429 => "Too many attempts",
            500 => "Something went wrong",
            503 => "Unavailable",
            _ => "That did not work",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
            details,
            request_id: crate::http::request_id::current(),
        };
        match page.render() {
            Ok(html) => Response::builder()
                .status(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(_) => bare_error(status.as_u16(), &message),
        }
    }
}

/// A plain-text answer for when no page can be rendered.
pub fn bare_error(status: u16, message: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("text/plain; charset=utf-8")
        .body(message.to_owned())
}

/// A refused unsafe request: a foreign origin or no valid CSRF token. Nothing was changed.
pub fn forged(cookies: &[String]) -> Response {
    let mut resp = Failure::from(AppError::Forbidden).into_response();
    resp.set_body(
        "This form came from another site or has expired: nothing was changed. \
         Reload the page and try again.",
    );
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        poem::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    for cookie in cookies {
        if let Ok(value) = cookie.parse() {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    resp
}
