//! Request parameters as OAuth reads them: a form body or a query, each name at most once
//! (RFC 6749 §3.1: a repeated parameter is an invalid request, never a silent choice).

use std::collections::HashMap;

use super::error::OAuthError;

#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// The parameters of `raw` (`a=1&b=2`); a repeated name is refused.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Self(params))
    }

    /// The form body of a POST (`application/x-www-form-urlencoded` only).
    pub async fn of_form(req: &poem::Request, body: poem::Body) -> Result<Self, OAuthError> {
        let form = req
            .content_type()
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = body
            .into_bytes()
            .await
            .map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
        Self::parse(&bytes)
    }

    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
    }
}
