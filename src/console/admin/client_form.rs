//! The OpenID client form of the console: what it sent (URIs one a line, a box per scope and
//! per dealership or group), read into the registry's [`Draft`] so the API's own rules check
//! it, and the API's field errors of list entries (`redirect_uris.2`) shown beside the list as
//! a line number.

use uuid::Uuid;

use crate::{
    console::list::Choice,
    entity::oauth_client,
    error::{AppError, FieldError},
    service::oauth::{client::SCOPES, registration::Draft},
};

/// What the form sent, or what the client holds, under the API's field names.
#[derive(Default)]
pub struct ClientForm {
    pub name: String,
    /// `confidential` or `public` (a new client's only).
    pub kind: String,
    /// One URI a line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub scopes: Vec<String>,
    pub id_token_alg: String,
    pub first_party: bool,
    pub dealership_ids: Vec<String>,
    pub group_ids: Vec<String>,
}

impl ClientForm {
    /// A new client's form: confidential, `openid`, ES256.
    pub fn blank() -> Self {
        Self {
            kind: "confidential".into(),
            scopes: vec!["openid".into()],
            id_token_alg: "ES256".into(),
            ..Self::default()
        }
    }

    /// The fields as posted: a `scope`, `dealership_id` or `group_id` field per ticked box.
    pub fn of(fields: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (name, value) in fields {
            match name.as_str() {
                "name" => form.name = value,
                "kind" => form.kind = value,
                "redirect_uris" => form.redirect_uris = value,
                "post_logout_redirect_uris" => form.post_logout_redirect_uris = value,
                "scope" => form.scopes.push(value),
                "id_token_alg" => form.id_token_alg = value,
                "first_party" => form.first_party = true,
                "dealership_id" => form.dealership_ids.push(value),
                "group_id" => form.group_ids.push(value),
                _ => {}
            }
        }
        form
    }

    pub fn of_client(c: &oauth_client::Model) -> Self {
        let ids = |ids: &Option<Vec<Uuid>>| {
            ids.iter()
                .flatten()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
        };
        Self {
            name: c.name.clone(),
            kind: if c.confidential {
                "confidential"
            } else {
                "public"
            }
            .into(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            scopes: c.scopes.clone(),
            id_token_alg: c.id_token_alg.clone(),
            first_party: c.first_party,
            dealership_ids: ids(&c.dealership_ids),
            group_ids: ids(&c.group_ids),
        }
    }

    pub fn has_scope(&self, scope: &&str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn has_dealership(&self, id: &str) -> bool {
        self.dealership_ids.iter().any(|d| d == id)
    }

    pub fn has_group(&self, id: &str) -> bool {
        self.group_ids.iter().any(|g| g == id)
    }

    /// The form as the registry's draft: every field of it (a form sends the whole client; a
    /// box left unticked is a scope or a place taken away). `new`: with the kind of client.
    pub fn draft(&self, new: bool) -> Result<Draft, AppError> {
        let (dealership_ids, group_ids) = (
            uuids("dealership_ids", &self.dealership_ids),
            uuids("group_ids", &self.group_ids),
        );
        let confidential = match (new, self.kind.as_str()) {
            (false, _) => None,
            (true, "confidential") => Some(true),
            (true, "public") => Some(false),
            (true, _) => return Err(AppError::field("kind", "must be confidential or public")),
        };
        Ok(Draft {
            name: Some(self.name.clone()),
            confidential,
            first_party: Some(self.first_party),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            scopes: Some(self.scopes.clone()),
            id_token_alg: Some(self.id_token_alg.clone()),
            dealership_ids: Some(dealership_ids?),
            group_ids: Some(group_ids?),
            is_active: None,
        })
    }
}

/// The lines of a text area that hold something, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn uuids(field: &str, raw: &[String]) -> Result<Vec<Uuid>, AppError> {
    raw.iter()
        .map(|id| Uuid::try_parse(id).map_err(|_| AppError::field(field, "must be UUIDs")))
        .collect()
}

/// The API's errors as the form shows them: an entry of a list (`redirect_uris.2`) under the
/// list's field, by line (`line 3: …`), every message of one field together; the kind of
/// client is the form's `kind`.
pub fn on_form(err: AppError) -> AppError {
    let AppError::Validation(found) = err else {
        return err;
    };
    let mut shown: Vec<FieldError> = Vec::new();
    for f in found {
        let (field, message) = match f.field.rsplit_once('.') {
            Some((list, n)) if n.parse::<usize>().is_ok() => {
                let line = n.parse::<usize>().unwrap_or_default() + 1;
                match list.ends_with("uris") {
                    true => (list.to_owned(), format!("line {line}: {}", f.message)),
                    false => (list.to_owned(), f.message),
                }
            }
            _ if f.field == "confidential" => ("kind".to_owned(), f.message),
            _ => (f.field, f.message),
        };
        match shown.iter_mut().find(|s| s.field == field) {
            Some(same) => same.message = format!("{}; {message}", same.message),
            None => shown.push(FieldError::new(field, message)),
        }
    }
    AppError::Validation(shown)
}

/// What the form offers: every scope, the algorithms there are keys for, and the dealerships
/// and groups a client may be confined to (those it is confined to included, listed or not).
pub struct Choices {
    pub scopes: Vec<&'static str>,
    pub algs: Vec<&'static str>,
    pub dealerships: Vec<Choice>,
    pub groups: Vec<Choice>,
}

impl Choices {
    pub fn new(
        algs: Vec<&'static str>,
        (mut dealerships, mut groups): (Vec<Choice>, Vec<Choice>),
        form: &ClientForm,
    ) -> Self {
        let add_missing = |choices: &mut Vec<Choice>, ids: &[String]| {
            for id in ids {
                if !choices.iter().any(|c| &c.value == id) {
                    choices.push(Choice::new(id.clone(), id.clone()));
                }
            }
        };
        add_missing(&mut dealerships, &form.dealership_ids);
        add_missing(&mut groups, &form.group_ids);
        Self {
            scopes: SCOPES.to_vec(),
            algs,
            dealerships,
            groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(found) => {
                found.into_iter().map(|f| (f.field, f.message)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ticked_boxes_and_lines_become_the_apis_lists() {
        let form = ClientForm::of(vec![
            ("name".into(), "CRM".into()),
            ("kind".into(), "public".into()),
            (
                "redirect_uris".into(),
                " https://crm.example.com/cb \r\n\r\nhttp://127.0.0.1/cb".into(),
            ),
            ("scope".into(), "openid".into()),
            ("scope".into(), "email".into()),
            ("first_party".into(), "on".into()),
        ]);
        let draft = form.draft(true).unwrap();
        assert_eq!(
            draft.redirect_uris.unwrap(),
            ["https://crm.example.com/cb", "http://127.0.0.1/cb"]
        );
        assert_eq!(draft.scopes.unwrap(), ["openid", "email"]);
        assert_eq!(
            (draft.confidential, draft.first_party),
            (Some(false), Some(true))
        );
        assert_eq!(draft.dealership_ids, Some(Vec::new()));
        assert_eq!(form.draft(false).unwrap().confidential, None);
    }

    #[test]
    fn list_entries_are_shown_by_line_under_their_list() {
        let err = AppError::Validation(vec![
            FieldError::new("redirect_uris.1", "must not have a fragment"),
            FieldError::new("redirect_uris.3", "must be an absolute URI"),
            FieldError::new("scopes.0", "must be one of: openid"),
            FieldError::new("confidential", "is required"),
        ]);
        assert_eq!(
            fields(on_form(err)),
            [
                (
                    "redirect_uris".into(),
                    "line 2: must not have a fragment; line 4: must be an absolute URI".into()
                ),
                ("scopes".into(), "must be one of: openid".into()),
                ("kind".into(), "is required".into()),
            ]
        );
    }
}
