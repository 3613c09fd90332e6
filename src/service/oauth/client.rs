//! A registered client as the OpenID endpoints see it: found by id through the definer lookup
//! (no tenant is known yet), authenticated by its secret, its redirect URIs matched exactly.

use sea_orm::{DbBackend, FromQueryResult, Statement};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{config::Profile, error::AppError, oidc::keys::IdAlg, tenancy::TenantTx};

/// The scopes a client may be allowed, and what each shows.
pub const SCOPES: [&str; 6] = [
    OPENID,
    "profile",
    "email",
    "phone",
    OFFLINE_ACCESS,
    DEALERSHIP,
];
pub const OPENID: &str = "openid";
/// A refresh token for the client (rotating, bound to it, ended with the sign-in).
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Our own: the active dealership (or group), its role, and the memberships the client may see.
pub const DEALERSHIP: &str = "dealership";

#[derive(Debug, Clone, FromQueryResult)]
pub struct Client {
    pub id: Uuid,
    pub name: String,
    pub confidential: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub id_token_alg: String,
    pub dealership_ids: Option<Vec<Uuid>>,
    pub group_ids: Option<Vec<Uuid>>,
    pub is_active: bool,
    /// SHA-256 of its live secrets (the current one and any still in its overlap).
    secret_hashes: Vec<Vec<u8>>,
}

impl Client {
    /// The active client `id`, or `None`.
    pub async fn find(tx: &TenantTx, id: Uuid) -> Result<Option<Client>, AppError> {
        let client = Client::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM oauth_client($1)",
            [id.into()],
        ))
        .one(tx)
        .await?;
        Ok(client.filter(|c| c.is_active))
    }

    /// Whether `presented` is one of its live secrets (compared in constant time).
    pub fn secret_matches(&self, presented: &str) -> bool {
        let hash = secret_hash(presented);
        self.secret_hashes.iter().fold(false, |found, stored| {
            found | constant_time_eq(&hash, stored)
        })
    }

    /// Whether `uri` is one of its redirect URIs: exactly, or a loopback one on another port
    /// (RFC 8252 §7.3: a native app listens on whatever port it gets).
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| redirect_matches(registered, uri))
    }

    pub fn logs_out_to(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn id_token_alg(&self) -> IdAlg {
        IdAlg::parse(&self.id_token_alg).unwrap_or(IdAlg::ES256)
    }

    /// Whether it is confined to some dealerships or groups.
    pub fn is_confined(&self) -> bool {
        self.dealership_ids.is_some() || self.group_ids.is_some()
    }

    /// Which of `memberships` may use this client (all of them, unless it is confined).
    pub async fn usable_by(
        &self,
        tx: &TenantTx,
        memberships: &[Uuid],
    ) -> Result<Vec<Uuid>, AppError> {
        if !self.is_confined() {
            return Ok(memberships.to_vec());
        }
        #[derive(FromQueryResult)]
        struct Allowed {
            id: Uuid,
        }
        let rows = Allowed::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM oauth_client_allows($1, $2) AS id",
            [self.id.into(), memberships.to_vec().into()],
        ))
        .all(tx)
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }
}

/// A new client secret (256 random bits, base64url) and its SHA-256, the only thing stored.
pub fn new_secret() -> (String, Vec<u8>) {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = secret_hash(&secret);
    (secret, hash)
}

pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(registered), Ok(presented)) = (url::Url::parse(registered), url::Url::parse(presented))
    else {
        return false;
    };
    is_loopback(&registered)
        && registered.scheme() == presented.scheme()
        && registered.host() == presented.host()
        && registered.path() == presented.path()
        && registered.query() == presented.query()
        && presented.fragment().is_none()
        && presented.username().is_empty()
        && presented.password().is_none()
}

/// `http://127.0.0.1` or `http://[::1]` (RFC 8252 §7.3; `localhost` is not a literal address).
fn is_loopback(url: &url::Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        }
}

/// Why `uri` cannot be registered as a redirect (or post-logout) URI, if it cannot: an absolute
/// URI without fragment or credentials; https, or (any profile) http on a loopback address,
/// or (dev) http on localhost, or a private-use scheme of a native app (`com.example.app:/cb`).
pub fn check_redirect_uri(uri: &str, profile: Profile) -> Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "must be an absolute URI")?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err("must not have a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if uri.len() > 2000 {
        return Err("must be at most 2000 characters");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" if profile == Profile::Dev && url.host_str() == Some("localhost") => Ok(()),
        "http" | "https" => Err("must use https (http only on a loopback address)"),
        "javascript" | "data" | "file" | "vbscript" | "blob" => Err("has a forbidden scheme"),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err("must use https, loopback http, or a private-use scheme like com.example.app"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_a_loopback_port() {
        let m = redirect_matches;
        assert!(m("https://app.example/cb", "https://app.example/cb"));
        assert!(!m("https://app.example/cb", "https://app.example/cb/"));
        assert!(!m("https://app.example/cb", "https://app.example/cb?x=1"));
        assert!(!m("https://app.example/cb", "https://app.example.evil/cb"));
        assert!(!m(
            "https://app.example:443/cb",
            "https://app.example:444/cb"
        ));
        assert!(m("http://127.0.0.1/cb", "http://127.0.0.1:53122/cb"));
        assert!(m("http://[::1]:8080/cb", "http://[::1]:9/cb"));
        assert!(!m("http://127.0.0.1/cb", "http://127.0.0.1:1/other"));
        assert!(!m("http://localhost/cb", "http://localhost:3000/cb"));
        assert!(!m("http://127.0.0.1/cb", "http://127.0.0.1:1/cb#x"));
    }

    #[test]
    fn registered_uris_are_https_loopback_or_private_use() {
        let ok = |u| check_redirect_uri(u, Profile::Prod).is_ok();
        assert!(ok("https://crm.example.com/callback"));
        assert!(ok("http://127.0.0.1/callback"));
        assert!(ok("com.example.desking:/oauth"));
        assert!(!ok("http://crm.example.com/callback"));
        assert!(!ok("http://localhost:3000/cb"));
        assert!(check_redirect_uri("http://localhost:3000/cb", Profile::Dev).is_ok());
        assert!(!ok("https://crm.example.com/cb#frag"));
        assert!(!ok("javascript:alert(1)"));
        assert!(!ok("https://user:pw@crm.example.com/cb"));
        assert!(!ok("/relative"));
    }

    #[test]
    fn only_a_live_secret_matches() {
        let (secret, hash) = new_secret();
        let (_, other) = new_secret();
        let client = |hashes| Client {
            id: Uuid::nil(),
            name: "c".into(),
            confidential: true,
            first_party: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            id_token_alg: "ES256".into(),
            dealership_ids: None,
            group_ids: None,
            is_active: true,
            secret_hashes: hashes,
        };
        assert!(client(vec![other.clone(), hash]).secret_matches(&secret));
        assert!(!client(vec![other]).secret_matches(&secret));
        assert!(!client(vec![]).secret_matches(""));
    }
}
