//! The authorization policy in force: its hash, when it was loaded, its rules, why the newest
//! files were refused if they were; and "Reload", which shows the check's result and what
//! changed (the rules added and removed), as the one `policy.reloaded` audit event records.

use askama::Template;
use poem::{Request, Response, handler, http::StatusCode, web::Data};

use crate::{
    authz::{Action, PolicySummary, Resource},
    console::{
        page::{self, Failure, Frame},
        visitor::Me,
    },
    error::{AppError, FieldError},
    scope::Caller,
    service::policies,
    state::AppState,
};

/// A `p` line: a role may do an action on a resource, up to a scope.
pub struct Grant {
    role: String,
    resource: String,
    action: String,
    scope: String,
}

/// A `g` line: a role inherits another's grants.
pub struct Inherits {
    role: String,
    from: String,
}

/// What pressing Reload did.
pub enum Outcome {
    Loaded {
        hash: String,
        previous_hash: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
    Refused {
        reasons: Vec<String>,
    },
}

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    frame: Frame,
    hash: String,
    loaded_at: String,
    grants: Vec<Grant>,
    inherits: Vec<Inherits>,
    custom_roles: usize,
    rejected: Vec<String>,
    outcome: Option<Outcome>,
}

async fn policy_page(
    state: &AppState,
    req: &Request,
    me: &Caller,
    outcome: Option<Outcome>,
) -> Result<Response, Failure> {
    let grant = state.grant(me, Resource::Policies, Action::Read)?;
    let (summary, rejected) = policies::in_force(&state.authz, &grant)?;
    let frame = Frame::of(state, req, me, "Policy", "/console/policy").await?;
    let status = match outcome {
        Some(Outcome::Refused { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let page = PolicyPage::new(frame, summary, rejected, outcome);
    Ok(page::render(status, &page))
}

impl PolicyPage {
    fn new(
        frame: Frame,
        summary: PolicySummary,
        rejected: Option<String>,
        outcome: Option<Outcome>,
    ) -> Self {
        let (mut grants, mut inherits) = (Vec::new(), Vec::new());
        for row in summary.rows {
            match <[String; 5]>::try_from(row) {
                Ok([_, role, resource, action, scope]) => grants.push(Grant {
                    role,
                    resource,
                    action,
                    scope,
                }),
                Err(row) => {
                    if let Ok([_, role, from]) = <[String; 3]>::try_from(row) {
                        inherits.push(Inherits { role, from });
                    }
                }
            }
        }
        // the reasons are joined with "; " where they are kept
        let rejected = rejected.map_or_else(Vec::new, |r| {
            r.split("; ").map(str::to_owned).collect::<Vec<_>>()
        });
        Self {
            frame,
            hash: summary.hash,
            loaded_at: summary
                .loaded_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            grants,
            inherits,
            custom_roles: summary.roles.len(),
            rejected,
            outcome,
        }
    }
}

/// The policy in force.
#[handler]
pub async fn show(req: &Request, state: Data<&AppState>, Me(me): Me) -> Result<Response, Failure> {
    policy_page(&state, req, &me, None).await
}

/// Re-reads the policy folder (a recent second factor first, as the API asks) and shows the
/// result of its check: the reasons it was refused (the policy in force stays), or the new
/// hash and the rules it added and removed.
#[handler]
pub async fn reload(
    req: &Request,
    state: Data<&AppState>,
    Me(me): Me,
) -> Result<Response, Failure> {
    let grant = state.grant(&me, Resource::Policies, Action::Update)?;
    let outcome = match policies::reload(&state, &grant).await {
        Ok(done) => Outcome::Loaded {
            hash: done.summary.hash,
            previous_hash: done.previous_hash,
            added: done.diff.added,
            removed: done.diff.removed,
        },
        Err(AppError::Validation(reasons)) => Outcome::Refused {
            reasons: reasons.into_iter().map(|r: FieldError| r.message).collect(),
        },
        Err(err) => return Err(err.into()),
    };
    policy_page(&state, req, &me, Some(outcome)).await
}
