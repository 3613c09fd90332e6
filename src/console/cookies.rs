//! The console's cookies: the session (`__Host-dg_console`: the access token and the refresh
//! token of a real session), the pre-session nonce that binds a sign-in form's CSRF token
//! (`__Host-dg_pre`), a one-shot notice of what the last action did (`__Host-dg_flash`), and
//! an OpenID authorization request on its way through the pages (`__Host-dg_authorize`).
//!
//! `__Host-` means `Secure`, `Path=/` and no `Domain`, so no other host or path can set or
//! shadow them; with `console.secure_cookie` off (plain HTTP on a non-localhost address in dev)
//! the names lose the prefix, which browsers would refuse without `Secure`.

use poem::Request;

use crate::config::ConsoleSettings;

/// One of the console's cookies.
#[derive(Clone, Copy)]
pub enum Jar {
    Session,
    PreSession,
    Flash,
    /// An OpenID authorization request waiting for sign-in, step-up, a choice or consent
    /// (sealed: `oidc::request::Pending`).
    Authorize,
}

impl Jar {
    fn base(self) -> &'static str {
        match self {
            Jar::Session => "dg_console",
            Jar::PreSession => "dg_pre",
            Jar::Flash => "dg_flash",
            Jar::Authorize => "dg_authorize",
        }
    }

    pub fn name(self, console: &ConsoleSettings) -> String {
        if console.secure_cookie {
            format!("__Host-{}", self.base())
        } else {
            self.base().to_owned()
        }
    }

    /// The value the request carries, if any.
    pub fn read<'a>(self, req: &'a Request, console: &ConsoleSettings) -> Option<&'a str> {
        let name = self.name(console);
        req.headers()
            .get_all(poem::http::header::COOKIE)
            .iter()
            .filter_map(|line| line.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
    }

    /// `Set-Cookie` for `value`: HttpOnly, SameSite=Lax (a signed-in person redirected here by
    /// another site's link arrives signed in; unsafe requests are checked by CSRF token),
    /// living `max_age` seconds or, without one, as long as the browser runs.
    pub fn set(self, console: &ConsoleSettings, value: &str, max_age: Option<u64>) -> String {
        let secure = if console.secure_cookie {
            "; Secure"
        } else {
            ""
        };
        let age = max_age.map_or(String::new(), |s| format!("; Max-Age={s}"));
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}",
            self.name(console)
        )
    }

    pub fn clear(self, console: &ConsoleSettings) -> String {
        self.set(console, "", Some(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_are_host_prefixed_and_plain_ones_are_not() {
        let mut console = ConsoleSettings::default();
        let set = Jar::Session.set(&console, "abc", None);
        assert_eq!(
            set,
            "__Host-dg_console=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        console.secure_cookie = false;
        assert_eq!(
            Jar::Flash.clear(&console),
            "dg_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }

    #[test]
    fn the_named_cookie_is_read_among_others() {
        let console = ConsoleSettings::default();
        let req = Request::builder()
            .header("cookie", "a=1; __Host-dg_pre=xyz; dg_pre=forged")
            .finish();
        assert_eq!(Jar::PreSession.read(&req, &console), Some("xyz"));
        assert_eq!(Jar::Session.read(&req, &console), None);
    }
}
