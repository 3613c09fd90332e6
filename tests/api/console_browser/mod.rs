//! The console in a real browser: Debian's Chromium, headless, driven through WebDriver
//! (`/usr/bin/chromedriver`, the `fantoccini` crate) against the real server and database.
//! Each test starts its own chromedriver on a port of its own and one browser session with a
//! fresh profile; both end when the [`Browser`] is dropped, also when the test fails
//! (chromedriver and the Chromium it started are one process group, killed together).
//!
//! Every page a scenario reaches is checked by axe-core ([`axe`]: no serious or critical
//! violation); with `DEALERGATE_SCREENSHOTS=<folder>` each scenario saves PNGs of its main
//! pages there ([`Browser::screenshot`]). Missing Chromium, chromedriver or axe-core fails the
//! tests with what to install (`tests/run.sh` installs them), never skips them.

mod axe;
mod other_site;

mod account;
mod admin_dealerships;
mod forgery;
mod invitation;
mod second_step;
mod staff;
mod switching;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a page, an element or a navigation may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// One chromedriver with one Chromium session on a fresh profile, pointed at a test server.
pub struct Browser {
    pub client: Client,
    /// `http://127.0.0.1:<port>` of the server under test.
    pub base: String,
    _driver: Driver,
}

/// chromedriver (leading a process group of its own, Chromium included) and the profile
/// folder: killed and removed when dropped, whatever happened.
struct Driver {
    process: Child,
    profile: PathBuf,
}

impl Browser {
    /// A browser for `app`: chromedriver on a port of its own, a headless Chromium session.
    pub async fn open(app: &TestApp) -> Self {
        let (process, port) = start_chromedriver();
        let driver = Driver {
            process,
            profile: fresh_profile(),
        };
        Self {
            client: connect(port, &driver.profile).await,
            base: app.address.clone(),
            _driver: driver,
        }
    }

    /// Ends the session (Chromium quits), then stops chromedriver; a failing test skips this
    /// and the drop kills both.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// The page at `path` of the server (a path and query, like `/console/sign-in`).
    pub async fn goto(&self, path: &str) {
        self.mark().await;
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("the browser opens {path}: {e}"));
        self.wait_for_new_page().await;
    }

    /// Opens `path` and checks it is the page titled `h1`; fails with what was shown instead
    /// (a page not built yet answers the 404 page).
    pub async fn open_page(&self, path: &str, h1: &str) {
        self.goto(path).await;
        self.expect_page(h1).await;
    }

    /// Fails unless the current page's `<h1>` is `h1`, saying what the page is instead.
    pub async fn expect_page(&self, h1: &str) {
        let shown = self.h1().await;
        if shown != h1 {
            panic!(
                "expected the page \"{h1}\" but {} shows \"{shown}\" (is the page built?):\n{}",
                self.path().await,
                self.text().await
            );
        }
    }

    /// The path and query of the current page.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Whether the page shows `text`.
    pub async fn shows(&self, text: &str) -> bool {
        self.text().await.contains(text)
    }

    /// Fails unless the page shows `text`.
    pub async fn expect_text(&self, text: &str) {
        let shown = self.text().await;
        assert!(
            shown.contains(text),
            "{} does not show \"{text}\":\n{shown}",
            self.path().await
        );
    }

    /// The page's `<h1>`, or "" without one.
    pub async fn h1(&self) -> String {
        match self.client.find(Locator::Css("h1")).await {
            Ok(h1) => h1.text().await.unwrap_or_default().trim().to_owned(),
            Err(_) => String::new(),
        }
    }

    /// The text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    /// The first element matching `css`, waited for.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .every(Duration::from_millis(25))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(found) => found,
            Err(e) => panic!(
                "{} has no {css} ({e}):\n{}",
                self.path().await,
                self.text().await
            ),
        }
    }

    /// The input, select or textarea labelled `label` (the text of its `<label>`, or its
    /// `aria-label`), or with the id `label`.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!(
            "//*[@id=//label[normalize-space(.)={q}]/@for] | //*[(self::input or self::select \
             or self::textarea) and (@aria-label={q} or @id={q})]",
            q = xpath_literal(label)
        );
        match self.client.find(Locator::XPath(&xpath)).await {
            Ok(found) => found,
            Err(_) => panic!(
                "{} has no field labelled \"{label}\":\n{}",
                self.path().await,
                self.text().await
            ),
        }
    }

    /// Types `value` into the field labelled `label` (what was there is cleared first).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.expect("the field clears");
        field.send_keys(value).await.expect("the field takes keys");
    }

    /// Chooses the option shown as `option` in the select labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let field = self.field(label).await;
        field
            .select_by_label(option)
            .await
            .unwrap_or_else(|e| panic!("\"{label}\" has no option \"{option}\": {e}"));
    }

    /// The first visible button, submit input or link whose text is `text` (exactly, or else
    /// starting with it).
    pub async fn button(&self, text: &str) -> Element {
        let q = xpath_literal(text);
        let exact = format!(
            "//button[normalize-space(.)={q}] | //input[(@type='submit' or @type='button') \
             and @value={q}] | //a[normalize-space(.)={q}]"
        );
        let prefix = format!(
            "//button[starts-with(normalize-space(.),{q})] | //a[starts-with(normalize-space(.),{q})]"
        );
        for xpath in [exact, prefix] {
            let found = self
                .client
                .find_all(Locator::XPath(&xpath))
                .await
                .unwrap_or_default();
            for element in found {
                if element.is_displayed().await.unwrap_or(false) {
                    return element;
                }
            }
        }
        panic!(
            "{} has no visible button \"{text}\":\n{}",
            self.path().await,
            self.text().await
        )
    }

    /// Presses the button (or follows the link) shown as `text` and waits for the next page.
    pub async fn press(&self, text: &str) {
        let button = self.button(text).await;
        self.mark().await;
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("\"{text}\" clicks: {e}"));
        self.wait_for_new_page().await;
    }

    /// Opens the `<details>` whose summary starts with `summary` (a confirmation).
    pub async fn open_details(&self, summary: &str) {
        let xpath = format!(
            "//summary[starts-with(normalize-space(.),{})]",
            xpath_literal(summary)
        );
        let found = self.client.find(Locator::XPath(&xpath)).await;
        let Ok(summary_element) = found else {
            panic!(
                "{} has no \"{summary}\" to open:\n{}",
                self.path().await,
                self.text().await
            )
        };
        summary_element.click().await.expect("the summary opens");
    }

    /// Remembers the current document, so that [`Self::wait_for_new_page`] sees it replaced.
    async fn mark(&self) {
        let _ = self
            .client
            .execute("window.__dealergateOld = true;", vec![])
            .await;
    }

    /// Waits until the marked document is replaced by a loaded one.
    pub async fn wait_for_new_page(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let fresh = self
                .client
                .execute(
                    "return window.__dealergateOld === undefined && \
                     document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if let Ok(Value::Bool(true)) = fresh {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page within {PATIENCE:?} (still {})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the page shows `text` (an htmx update, or a redirect still on its way).
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.shows(text).await {
            assert!(
                Instant::now() < deadline,
                "{} never showed \"{text}\":\n{}",
                self.path().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The names of the cookies the page's scripts can see (none of the console's: HttpOnly).
    pub async fn script_cookies(&self) -> String {
        self.client
            .execute("return document.cookie;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The browser's cookies for the server (HttpOnly ones included), by name.
    pub async fn cookie_names(&self) -> Vec<String> {
        self.client
            .get_all_cookies()
            .await
            .expect("the cookies")
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }

    /// Saves a PNG of the page as `name` in the folder `DEALERGATE_SCREENSHOTS` names (a
    /// relative folder is under the crate); nothing without it.
    pub async fn screenshot(&self, name: &str) {
        let Some(folder) = std::env::var_os("DEALERGATE_SCREENSHOTS") else {
            return;
        };
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(folder);
        std::fs::create_dir_all(&folder).expect("the screenshot folder");
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(folder.join(name), png).expect("the screenshot is saved");
    }

    /// axe-core on the current page, recorded as `page`: fails on any serious or critical
    /// violation (see [`axe::check`]).
    pub async fn check_a11y(&self, page: &str) {
        axe::check(self, page).await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, Chromium included: end them together
        if let Ok(pid) = i32::try_from(self.process.id()) {
            // SAFETY: killpg takes plain integers; the group is the chromedriver this test started
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Starts chromedriver on a port it picks (`--port=0`), leading a process group of its own.
fn start_chromedriver() -> (Child, u16) {
    use std::os::unix::process::CommandExt;
    for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: install Debian's {package} (apt-get install chromium \
             chromium-driver; tests/run.sh does it)"
        );
    }
    let mut driver = Command::new(CHROMEDRIVER)
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    let stdout = driver.stdout.take().expect("chromedriver's output");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = match lines.next() {
            Some(Ok(line)) => line,
            _ => panic!("chromedriver ended before saying its port"),
        };
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').trim().parse().expect("a port");
        }
    };
    // keep draining its output so that it never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    (driver, port)
}

fn fresh_profile() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dealergate-chromium-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a profile folder");
    dir
}

/// A session of headless Chromium. The flags keep it from reaching out to Google's services
/// (refused on a closed network) and fit a CI container (no sandbox, no GPU, no /dev/shm).
async fn connect(port: u16, profile: &std::path::Path) -> Client {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    caps.insert("pageLoadStrategy".into(), json!("normal"));
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver starts a Chromium session: {e}"))
}

/// `text` as an XPath string literal (XPath 1.0 has no escapes).
fn xpath_literal(text: &str) -> String {
    if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

/// Signs in at the console's form with a password (no second step): lands where it sends.
pub async fn sign_in(browser: &Browser, login: &str, password: &str) {
    browser.open_page("/console/sign-in", "Sign in").await;
    browser.fill("Email or phone", login).await;
    browser.fill("Password", password).await;
    browser.press("Sign in").await;
}

/// Confirms a destructive action: opens its `<details>` (summary starting with `summary`) and
/// presses the button `button` inside, then waits for the next page.
pub async fn confirm(browser: &Browser, summary: &str, button: &str) {
    browser.open_details(summary).await;
    browser.press(button).await;
}

/// Signs in through both steps with `app`'s next code.
pub async fn sign_in_with_code(
    browser: &Browser,
    login: &str,
    password: &str,
    app: &crate::helpers::mfa::Authenticator,
) {
    sign_in(browser, login, password).await;
    browser.expect_page("Second step").await;
    browser
        .fill("Code from your app", &app.next_code().await)
        .await;
    browser.press("Continue").await;
}

/// Where a sensitive action sent the browser to the step-up prompt: a code from `app`, which
/// returns to the page the action was on (the action is then repeated). Whether it was asked.
pub async fn step_up_if_asked(browser: &Browser, app: &crate::helpers::mfa::Authenticator) -> bool {
    if !browser.path().await.starts_with("/console/step-up") {
        return false;
    }
    browser.expect_page("Confirm it is you").await;
    browser.check_a11y("step-up prompt").await;
    browser
        .fill("Code from your app", &app.next_code().await)
        .await;
    browser.press("Confirm").await;
    true
}

/// Signs out with the top bar's button.
pub async fn sign_out(browser: &Browser) {
    browser.press("Sign out").await;
    browser.expect_page("Sign in").await;
}
