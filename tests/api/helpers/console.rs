//! A browser without a browser, for the console's own tests: a cookie jar of its own (it keeps
//! `Secure` cookies over the test server's plain HTTP, as browsers do for loopback), redirects
//! not followed (tests see where the console sends them), and every form posted with the CSRF
//! token of the last page read. The real-browser tests are in `console_browser`.

use std::collections::BTreeMap;

use reqwest::{StatusCode, header};

use super::TestApp;

pub struct Console {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// The `_csrf` of the last page read.
    csrf: Option<String>,
}

/// A console answer: its status, where it redirects, and its body.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    /// Whether the body shows `text` (HTML-escaped as askama escapes it).
    pub fn shows(&self, text: &str) -> bool {
        self.body.contains(&escape(text))
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

impl Console {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    /// Signed in as a user without a second factor; panics unless the console lets them in.
    pub async fn signed_in(app: &TestApp, email: &str, password: &str) -> Self {
        let mut console = Self::new(app);
        let page = console.sign_in(email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        console
    }

    /// Signed in with both steps, the second answered by `app`'s next code; panics unless the
    /// console lets them in.
    pub async fn signed_in_with_code(
        app: &TestApp,
        (email, password): (&str, &str),
        authenticator: &super::mfa::Authenticator,
    ) -> Self {
        let mut console = Self::new(app);
        let step = console.sign_in(email, password).await;
        let token = hidden_field(&step.body, "mfa_token").expect("the second step");
        let code = authenticator.next_code().await;
        let done = console
            .post(
                "/console/sign-in/code",
                &[("mfa_token", &token), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        console
    }

    /// The password step; the answer is a redirect when signed in, the code page for a user
    /// with a second factor, or the form with its errors.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> Page {
        self.get("/console/sign-in").await;
        self.post(
            "/console/sign-in",
            &[("login", login), ("password", password)],
        )
        .await
    }

    /// Sets a cookie as a forger could (any name, any value).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// An htmx request for `path` (the partial, where the page has one).
    #[allow(dead_code)] // for the pages with partials
    pub async fn get_partial(&mut self, path: &str) -> Page {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("HX-Request", "true");
        self.send(req).await
    }

    /// Posts `fields` with the CSRF token of the last page read.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone().unwrap_or_default();
        form.push(("_csrf", &csrf));
        let req = self.http.post(format!("{}{path}", self.base)).form(&form);
        self.send(req).await
    }

    /// Posts `fields` exactly as given (no token added), with extra headers: forgeries.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(fields);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// Follows a redirect answer (`location`) with a GET.
    pub async fn follow(&mut self, page: &Page) -> Page {
        let to = page.location.clone().expect("a redirect");
        self.get(&to).await
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let jar = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if jar.is_empty() {
            req
        } else {
            req.header(header::COOKIE, jar)
        };
        let resp = req.send().await.expect("the console answers");
        for set in resp.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().expect("an ASCII cookie");
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .or(headers.get("hx-redirect"))
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.expect("a body");
        if let Some(token) = csrf_of(&body) {
            self.csrf = Some(token);
        }
        Page {
            status,
            location,
            headers,
            body,
        }
    }
}

fn csrf_of(body: &str) -> Option<String> {
    hidden_field(body, "_csrf")
}

/// The value of the hidden field `name` in a page.
pub fn hidden_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = &body[body.find(&marker)? + marker.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}
