//! What an admin registers about an OpenID client, checked before the registry stores it: one
//! set of rules for the API and the console, every invalid field at once (`redirect_uris.2`).

use uuid::Uuid;

use super::client::{OPENID, SCOPES, check_redirect_uri};
use crate::{
    config::Profile,
    domain::ClientName,
    error::{AppError, FieldError},
    oidc::keys::IdAlg,
    state::AppState,
};

/// How many redirect (or post-logout) URIs, and dealerships or groups, a client may list.
pub const MAX_URIS: usize = 20;
pub const MAX_PLACES: usize = 100;

/// What a registration is checked against besides itself: the profile (`http://localhost`
/// redirects in dev only) and the ID-token algorithms this server has keys for.
pub struct Rules {
    pub profile: Profile,
    pub algs: Vec<IdAlg>,
}

impl Rules {
    pub fn of(state: &AppState) -> Self {
        Self {
            profile: state.settings.profile,
            algs: state.oidc.keys.algs(),
        }
    }
}

/// A client's settings as a body or a form sends them; `None`: left out (an edit keeps it).
#[derive(Debug, Default, Clone)]
pub struct Draft {
    pub name: Option<String>,
    pub confidential: Option<bool>,
    pub first_party: Option<bool>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub id_token_alg: Option<String>,
    /// Empty: confined by no dealership.
    pub dealership_ids: Option<Vec<Uuid>>,
    pub group_ids: Option<Vec<Uuid>>,
    pub is_active: Option<bool>,
}

/// Checked settings of a change: each one given is valid. Lists come without repeats; an
/// empty list of dealerships or groups is `Some(None)` (no confinement by it).
#[derive(Debug, Default)]
pub struct Change {
    pub name: Option<ClientName>,
    pub first_party: Option<bool>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub id_token_alg: Option<IdAlg>,
    pub dealership_ids: Option<Option<Vec<Uuid>>>,
    pub group_ids: Option<Option<Vec<Uuid>>>,
    pub is_active: Option<bool>,
}

/// A new client's checked settings.
#[derive(Debug)]
pub struct Registration {
    pub name: ClientName,
    pub confidential: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub id_token_alg: IdAlg,
    pub dealership_ids: Option<Vec<Uuid>>,
    pub group_ids: Option<Vec<Uuid>>,
}

impl Draft {
    /// The settings of a new client: `name`, `confidential`, `redirect_uris` and `scopes` are
    /// required; ES256 signs its ID tokens unless it asks for another algorithm.
    pub fn registration(self, rules: &Rules) -> Result<Registration, AppError> {
        let confidential = self.confidential;
        let missing: Vec<FieldError> = [
            ("name", self.name.is_none()),
            ("confidential", confidential.is_none()),
            ("redirect_uris", self.redirect_uris.is_none()),
            ("scopes", self.scopes.is_none()),
        ]
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(field, _)| FieldError::new(field, "is required"))
        .collect();
        let mut errors = Vec::new();
        let change = self.checked(rules, &mut errors);
        errors.extend(missing);
        match (change, confidential) {
            (
                Change {
                    name: Some(name),
                    redirect_uris: Some(redirect_uris),
                    scopes: Some(scopes),
                    first_party,
                    post_logout_redirect_uris,
                    id_token_alg,
                    dealership_ids,
                    group_ids,
                    ..
                },
                Some(confidential),
            ) if errors.is_empty() => Ok(Registration {
                name,
                confidential,
                first_party: first_party.unwrap_or(false),
                redirect_uris,
                post_logout_redirect_uris: post_logout_redirect_uris.unwrap_or_default(),
                scopes,
                id_token_alg: id_token_alg.unwrap_or(IdAlg::ES256),
                dealership_ids: dealership_ids.flatten(),
                group_ids: group_ids.flatten(),
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }

    /// The settings an edit changes, each given one checked. Whether a client is confidential
    /// is settled when it is registered (a public client has no secret to rotate, a
    /// confidential one's secrets would outlive the change): register another instead.
    pub fn change(self, rules: &Rules) -> Result<Change, AppError> {
        let mut errors = Vec::new();
        if self.confidential.is_some() {
            errors.push(FieldError::new(
                "confidential",
                "cannot change: register a new client instead",
            ));
        }
        let change = self.checked(rules, &mut errors);
        match errors.is_empty() {
            true => Ok(change),
            false => Err(AppError::Validation(errors)),
        }
    }

    /// Every given field checked; each invalid one is added to `errors` and left out.
    fn checked(self, rules: &Rules, errors: &mut Vec<FieldError>) -> Change {
        let name = self.name.map(|raw| {
            ClientName::parse(&raw).map_err(|e| vec![FieldError::new("name", e.message())])
        });
        let redirects = self
            .redirect_uris
            .map(|uris| uri_list("redirect_uris", uris, 1, rules.profile));
        let post_logout = self
            .post_logout_redirect_uris
            .map(|uris| uri_list("post_logout_redirect_uris", uris, 0, rules.profile));
        let scopes = self.scopes.map(scope_list);
        let id_token_alg = self.id_token_alg.map(|a| alg(&a, rules));
        let dealership_ids = self.dealership_ids.map(|ids| places("dealership_ids", ids));
        let group_ids = self.group_ids.map(|ids| places("group_ids", ids));
        Change {
            name: kept(name, errors),
            first_party: self.first_party,
            redirect_uris: kept(redirects, errors),
            post_logout_redirect_uris: kept(post_logout, errors),
            scopes: kept(scopes, errors),
            id_token_alg: kept(id_token_alg, errors),
            dealership_ids: kept(dealership_ids, errors),
            group_ids: kept(group_ids, errors),
            is_active: self.is_active,
        }
    }
}

/// A given field's value if it is valid; its errors go to `errors`.
fn kept<T>(given: Option<Result<T, Vec<FieldError>>>, errors: &mut Vec<FieldError>) -> Option<T> {
    match given? {
        Ok(value) => Some(value),
        Err(found) => {
            errors.extend(found);
            None
        }
    }
}

/// The first occurrence of each, in order.
fn without_repeats<T: Clone + Eq + std::hash::Hash>(mut items: Vec<T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
    items
}

/// Redirect (or post-logout) URIs: `min`..=[`MAX_URIS`] of them, each one a client may
/// register ([`check_redirect_uri`]) and free of spaces (matching is exact, character by
/// character: a space the browser encodes would never match).
fn uri_list(
    field: &str,
    uris: Vec<String>,
    min: usize,
    profile: Profile,
) -> Result<Vec<String>, Vec<FieldError>> {
    if !(min..=MAX_URIS).contains(&uris.len()) {
        let message = format!("must list {min} to {MAX_URIS} URIs");
        return Err(vec![FieldError::new(field, message)]);
    }
    let errors: Vec<FieldError> = uris
        .iter()
        .enumerate()
        .filter_map(|(i, uri)| {
            let spaced = uri.chars().any(|c| c.is_whitespace() || c.is_control());
            let why = match spaced {
                true => Err("must not contain spaces or control characters"),
                false => check_redirect_uri(uri, profile),
            };
            why.err()
                .map(|why| FieldError::new(format!("{field}.{i}"), why))
        })
        .collect();
    match errors.is_empty() {
        true => Ok(without_repeats(uris)),
        false => Err(errors),
    }
}

/// Scopes the client may ask for: known ones ([`SCOPES`]), `openid` among them, in the order
/// of [`SCOPES`].
fn scope_list(scopes: Vec<String>) -> Result<Vec<String>, Vec<FieldError>> {
    let known = format!("must be one of: {}", SCOPES.join(", "));
    let mut errors: Vec<FieldError> = scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| !SCOPES.contains(&s.as_str()))
        .map(|(i, _)| FieldError::new(format!("scopes.{i}"), known.clone()))
        .collect();
    if errors.is_empty() && !scopes.iter().any(|s| s == OPENID) {
        errors.push(FieldError::new("scopes", "must include openid"));
    }
    match errors.is_empty() {
        true => Ok(SCOPES
            .iter()
            .filter(|s| scopes.iter().any(|given| given == *s))
            .map(|s| (*s).to_owned())
            .collect()),
        false => Err(errors),
    }
}

fn alg(name: &str, rules: &Rules) -> Result<IdAlg, Vec<FieldError>> {
    IdAlg::parse(name)
        .filter(|a| rules.algs.contains(a))
        .ok_or_else(|| {
            let names: Vec<&str> = rules.algs.iter().map(|a| a.as_str()).collect();
            let message = format!("must be one of: {}", names.join(", "));
            vec![FieldError::new("id_token_alg", message)]
        })
}

/// Dealerships or groups a client is confined to (whether each exists is the registry's to
/// check): at most [`MAX_PLACES`]; none is no confinement by them.
fn places(field: &str, ids: Vec<Uuid>) -> Result<Option<Vec<Uuid>>, Vec<FieldError>> {
    if ids.len() > MAX_PLACES {
        let message = format!("must list at most {MAX_PLACES}");
        return Err(vec![FieldError::new(field, message)]);
    }
    let ids = without_repeats(ids);
    Ok((!ids.is_empty()).then_some(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            profile: Profile::Prod,
            algs: vec![IdAlg::ES256, IdAlg::EdDSA],
        }
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(found) => found.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn strings(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    fn spa() -> Draft {
        Draft {
            name: Some(" Desking ".into()),
            confidential: Some(false),
            redirect_uris: strings(&["https://desking.example.com/cb", "http://127.0.0.1/cb"]),
            scopes: strings(&["offline_access", "openid", "openid"]),
            ..Draft::default()
        }
    }

    #[test]
    fn a_registration_takes_its_defaults_and_keeps_scopes_in_their_order() {
        let reg = spa().registration(&rules()).unwrap();
        assert_eq!(reg.name.into_inner(), "Desking");
        assert_eq!(reg.scopes, ["openid", "offline_access"]);
        assert_eq!(reg.id_token_alg, IdAlg::ES256);
        assert!(!reg.first_party && reg.post_logout_redirect_uris.is_empty());
        assert_eq!((reg.dealership_ids, reg.group_ids), (None, None));
    }

    #[test]
    fn every_invalid_field_is_named_at_once_and_list_entries_by_position() {
        let draft = Draft {
            name: Some("".into()),
            redirect_uris: strings(&[
                "https://ok.example.com/cb",
                "javascript:alert(1)",
                "https://x.example.com/cb#frag",
                "/relative",
                "http://crm.example.com/cb",
                "https://x.example.com/a b",
            ]),
            post_logout_redirect_uris: strings(&["data:text/html,hi"]),
            scopes: strings(&["openid", "admin"]),
            id_token_alg: Some("RS256".into()),
            ..Draft::default()
        };
        assert_eq!(
            fields(draft.registration(&rules()).unwrap_err()),
            [
                "name",
                "redirect_uris.1",
                "redirect_uris.2",
                "redirect_uris.3",
                "redirect_uris.4",
                "redirect_uris.5",
                "post_logout_redirect_uris.0",
                "scopes.1",
                "id_token_alg",
                "confidential",
            ]
        );
    }

    #[test]
    fn required_fields_lists_bounds_and_openid_are_checked() {
        let missing = Draft::default().registration(&rules()).unwrap_err();
        assert_eq!(
            fields(missing),
            ["name", "confidential", "redirect_uris", "scopes"]
        );
        let draft = Draft {
            redirect_uris: Some(Vec::new()),
            scopes: strings(&["profile"]),
            dealership_ids: Some(vec![Uuid::nil(); MAX_PLACES + 1]),
            ..spa()
        };
        assert_eq!(
            fields(draft.registration(&rules()).unwrap_err()),
            ["redirect_uris", "scopes", "dealership_ids"]
        );
    }

    #[test]
    fn a_change_checks_what_it_gives_and_never_the_kind_of_client() {
        let change = Draft {
            name: Some("CRM".into()),
            dealership_ids: Some(Vec::new()),
            ..Draft::default()
        }
        .change(&rules())
        .unwrap();
        assert!(change.redirect_uris.is_none() && change.scopes.is_none());
        assert_eq!(change.dealership_ids, Some(None), "an empty list clears");
        let refused = Draft {
            confidential: Some(true),
            ..Draft::default()
        };
        assert_eq!(
            fields(refused.change(&rules()).unwrap_err()),
            ["confidential"]
        );
    }

    #[test]
    fn localhost_redirects_are_for_dev_only() {
        let draft = || Draft {
            redirect_uris: strings(&["http://localhost:3000/cb"]),
            ..spa()
        };
        assert!(draft().registration(&rules()).is_err());
        let dev = Rules {
            profile: Profile::Dev,
            ..rules()
        };
        assert!(draft().registration(&dev).is_ok());
    }
}
