//! RP-initiated logout (`/oauth2/logout`, OpenID Connect RP-Initiated Logout 1.0): the sign-in
//! ends everywhere — the console's families and every client's of that sign-in, on every
//! replica — and the browser goes back to the client's registered `post_logout_redirect_uri`
//! (with `state`), or sees that it is signed out. With a valid `id_token_hint` it happens at
//! once; without one the person confirms (a form with the console's CSRF token), so another
//! site cannot sign anyone out.

use std::collections::HashMap;

use askama::Template;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Form, Query},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{authorize::refused, flow};
use crate::{
    console::{
        cookies::Jar,
        page::{self, Failure, Frame},
        session::Visitor,
    },
    error::AppError,
    oidc::{error::with_query, keys::Expect},
    service::{oauth::Client, sessions},
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/oidc/logout.html")]
struct ConfirmPage {
    frame: Frame,
    redirect: String,
    state: String,
    client_id: String,
}

#[derive(Template)]
#[template(path = "console/oidc/signed_out.html")]
struct SignedOutPage {
    frame: Frame,
}

/// What an ID token says of the sign-in it was issued in.
#[derive(Deserialize)]
struct Hint {
    sub: Uuid,
    sid: Uuid,
    aud: String,
}

#[handler]
pub async fn logout(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let get = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned();
    let hint = get("id_token_hint").and_then(|token| {
        let expect = Expect {
            issuer: &state.oidc.issuer,
            audience: None,
            typ: "JWT",
            check_expiry: false,
        };
        state.oidc.keys.verify::<Hint>(&token, &expect).ok()
    });
    if let (Some(named), Some(hint)) = (get("client_id"), &hint)
        && named != hint.aud
    {
        return Ok(refused(
            req,
            &state,
            "client_id is not the app id_token_hint was issued to.",
        ));
    }
    let client_id = get("client_id").or(hint.as_ref().map(|h| h.aud.clone()));
    let redirect = match get("post_logout_redirect_uri") {
        Some(uri) => match registered(&state, client_id.as_deref(), &uri).await? {
            true => Some(uri),
            false => {
                return Ok(refused(
                    req,
                    &state,
                    "post_logout_redirect_uri is not registered for this client.",
                ));
            }
        },
        None => None,
    };
    // at once only for the browser's own sign-in, as the hint names it; anything else (no
    // hint, another sign-in, another person's token) is asked first (RP-Initiated Logout §2)
    if !names_this_sign_in(&state, &visitor, hint.as_ref()).await? {
        let page = ConfirmPage {
            frame: Frame::anonymous(req, &state, "Sign out"),
            redirect: redirect.unwrap_or_default(),
            state: get("state").unwrap_or_default(),
            client_id: client_id.unwrap_or_default(),
        };
        let mut resp = page::render(StatusCode::OK, &page);
        if !page.redirect.is_empty() {
            crate::http::allow_form_target(&mut resp, &page.redirect);
        }
        return Ok(resp);
    }
    end(&state, &visitor).await?;
    Ok(signed_out(req, &state, redirect, get("state")))
}

/// Whether `hint` is an ID token of the sign-in this browser is in.
async fn names_this_sign_in(
    state: &AppState,
    visitor: &Visitor,
    hint: Option<&Hint>,
) -> Result<bool, AppError> {
    let (Some(me), Some(hint)) = (&visitor.caller, hint) else {
        return Ok(false);
    };
    if me.person_id != hint.sub {
        return Ok(false);
    }
    let tx = state.db.begin_reading(me.scope()).await?;
    let family = sessions::find(&tx, me.session_id).await?;
    tx.commit().await?;
    Ok(family.is_some_and(|f| f.sign_in_id == hint.sid))
}

#[derive(Deserialize)]
pub struct Confirmed {
    #[serde(default)]
    redirect: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    client_id: String,
}

/// The confirmation: the console's sign-in in this browser ends.
#[handler]
pub async fn confirm(
    req: &Request,
    state: Data<&AppState>,
    visitor: Data<&Visitor>,
    Form(form): Form<Confirmed>,
) -> Result<Response, Failure> {
    let redirect = Some(form.redirect).filter(|r| !r.is_empty());
    if let Some(uri) = &redirect
        && !registered(&state, Some(&form.client_id), uri).await?
    {
        return Ok(refused(
            req,
            &state,
            "post_logout_redirect_uri is not registered for this client.",
        ));
    }
    end(&state, &visitor).await?;
    Ok(signed_out(
        req,
        &state,
        redirect,
        Some(form.state).filter(|s| !s.is_empty()),
    ))
}

async fn registered(
    state: &AppState,
    client_id: Option<&str>,
    uri: &str,
) -> Result<bool, AppError> {
    let Some(id) = client_id.and_then(|id| Uuid::try_parse(id).ok()) else {
        return Ok(false);
    };
    let client: Option<Client> = flow::client(state, id).await?;
    Ok(client.is_some_and(|c| c.logs_out_to(uri)))
}

/// Ends the browser's console sign-in with every family of it (the console's, and every
/// app's opened in it), announced to every replica.
async fn end(state: &AppState, visitor: &Visitor) -> Result<(), AppError> {
    if let Some(me) = &visitor.caller {
        let scope = state.sign_out_scope(me).await?;
        sessions::end_sign_ins(&scope, sessions::SignIns::Mine, "oidc_logout").await?;
        scope.commit().await?;
    }
    Ok(())
}

fn signed_out(
    req: &Request,
    state: &AppState,
    redirect: Option<String>,
    client_state: Option<String>,
) -> Response {
    let mut resp = match redirect {
        Some(uri) => {
            let pairs: Vec<(&str, &str)> =
                client_state.iter().map(|s| ("state", s.as_str())).collect();
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, with_query(&uri, &pairs))
                .finish()
        }
        None => page::render(
            StatusCode::OK,
            &SignedOutPage {
                frame: Frame::anonymous(req, state, "Signed out"),
            },
        ),
    };
    if let Ok(value) = Jar::Session.clear(&state.settings.console).parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
    resp
}
