//! The real server on port 0 against a [`TestDb`] ([`spawn_app`] and friends), and
//! [`TestApp`]'s request helpers: plain, signed in, logging in and refreshing.

use std::{path::PathBuf, sync::Arc, time::Duration};

use dealergate::{
    config::{
        AuthSettings, HttpSettings, MailSettings, MfaSettings, OidcSettings, Profile, Secret,
        Settings, WebhookSettings,
    },
    startup::Application,
    state::AppState,
    testing::IdAlg,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{
    db::{TestDb, database_settings, server_addr, url_via},
    fault_proxy,
};

pub struct TestApp {
    pub address: String,
    /// The operators' listener: metrics and the detailed readiness report.
    pub ops_address: String,
    pub client: reqwest::Client,
    /// Shared with replicas of this app; dropped with the last of them.
    pub db: Arc<TestDb>,
    /// The running server's shared state.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The settings a test server starts from: dev profile, port 0, the test database as the
/// login role.
pub fn test_settings(db: &TestDb) -> Settings {
    let (signing_pem, _) = dealergate::testing::generate_pem().expect("key pair");
    Settings {
        profile: Profile::Dev,
        listen: "127.0.0.1:0".parse().expect("address"),
        http: HttpSettings {
            ops_listen: Some("127.0.0.1:0".parse().expect("address")),
            ..HttpSettings::default()
        },
        database: database_settings(db.login_url(), 5),
        auth: AuthSettings {
            // configured like production, so replicas of a test app trust each other's tokens
            signing_key: Some(Secret::new(signing_pem)),
            refresh_token_secret: Some(Secret::new(Uuid::new_v4().simple().to_string())),
            mfa: MfaSettings {
                encryption_key: Some(Secret::new(mfa_key())),
                // the demo admin would otherwise have to enrol before anything else; the
                // MFA tests ask for the default themselves
                required_roles: Vec::new(),
                ..MfaSettings::default()
            },
            ..AuthSettings::default()
        },
        // configured like production too: over SMTP to a real server, links to a frontend
        mail: MailSettings {
            smtp_url: Some(Secret::new(super::smtp::sink().url())),
            public_base_url: Some("https://app.example.test".into()),
            outbox_dir: std::env::temp_dir().join(format!("dg-outbox-{}", Uuid::new_v4())),
            ..MailSettings::default()
        },
        // ES256 and EdDSA ID-token keys from files, as in production (RS256 stays the dev
        // profile's ephemeral key: RSA key generation would slow every test's start)
        oidc: OidcSettings {
            es256_key_file: Some(id_key_file(IdAlg::ES256)),
            eddsa_key_file: Some(id_key_file(IdAlg::EdDSA)),
            ..OidcSettings::default()
        },
        // no webhook sender: a test that wants deliveries turns it on (tests/api/webhooks.rs,
        // to loopback receivers only), so no stray event is ever posted anywhere
        webhooks: WebhookSettings {
            enabled: false,
            ..WebhookSettings::default()
        },
        ..Settings::default()
    }
}

/// A new ID-token private key of `alg` in a file of its own.
fn id_key_file(alg: IdAlg) -> PathBuf {
    let (private, _) = dealergate::testing::generate_id_pem(alg).expect("key pair");
    let dir = std::env::temp_dir().join(format!("dg-id-keys-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("key folder");
    let path = dir.join(format!("id-{}.pem", alg.as_str().to_ascii_lowercase()));
    std::fs::write(&path, private).expect("key file");
    path
}

/// A fresh `auth.mfa.encryption_key`: the base64 of 32 random bytes.
pub fn mfa_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = Arc::new(TestDb::new().await);
    let mut settings = test_settings(&db);
    configure(&mut settings);
    start_with(db, settings).await
}

pub async fn start_with(db: Arc<TestDb>, settings: Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let port = app.port();
    let ops_port = app.ops_port().unwrap_or(0);
    let state = app.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ops_address: format!("http://127.0.0.1:{ops_port}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // the server closes a kept-alive connection idle for its header timeout (10 s by
            // default): a request sent on it just then fails (IncompleteMessage, seen in a test
            // that waits for the next TOTP step), so the client lets it go first
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("client"),
        db,
        state,
        stop: Some(stop),
        server: Some(server),
    }
}

/// A test server whose every database connection, the LISTEN one included, goes through a
/// [`fault_proxy::FaultProxy`] the test can break.
pub async fn spawn_app_behind_proxy(
    configure: impl FnOnce(&mut Settings),
) -> (TestApp, fault_proxy::FaultProxy) {
    let db = Arc::new(TestDb::new().await);
    let proxy = fault_proxy::FaultProxy::start(server_addr()).await;
    let mut settings = test_settings(&db);
    settings.database.url = Secret::new(url_via(&db.login_url(), proxy.addr()));
    configure(&mut settings);
    (start_with(db, settings).await, proxy)
}

impl TestApp {
    /// A replica on the same database with settings changed by `configure` (for example
    /// connected directly while this one goes through a proxy).
    pub async fn spawn_replica_with(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.state.settings.clone();
        configure(&mut settings);
        start_with(self.db.clone(), settings).await
    }

    /// The server task is still running (it has neither stopped nor panicked).
    pub fn is_serving(&self) -> bool {
        self.server.as_ref().is_some_and(|s| !s.is_finished())
    }
}

impl TestApp {
    /// A second server on the same database, as another replica would be.
    pub async fn spawn_replica(&self) -> TestApp {
        let settings = self.state.settings.clone();
        start_with(self.db.clone(), settings).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A GET on the operators' listener.
    pub async fn ops(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.ops_address))
            .send()
            .await
            .expect("request sent")
    }

    /// Sends the stop signal and waits for the server to drain and exit.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// What a successful login or refresh returned.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: serde_json::Value,
}

impl Tokens {
    /// The tokens of a 200 answer (asserted).
    pub async fn read(resp: reqwest::Response) -> Self {
        Self::from_response(resp).await
    }

    pub async fn from_response(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.expect("token JSON");
        assert_eq!(status, 200, "tokens issued: {body}");
        Self {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            body,
        }
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Tokens {
        Tokens::from_response(self.login(email, password).await).await
    }

    /// `POST /auth/login` with `{phone, password}`.
    pub async fn login_by_phone(&self, phone: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            serde_json::json!({"phone": phone, "password": password}),
        )
        .await
    }

    pub async fn login_by_phone_ok(&self, phone: &str, password: &str) -> Tokens {
        Tokens::from_response(self.login_by_phone(phone, password).await).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": refresh_token}),
        )
        .await
    }

    pub async fn refresh_ok(&self, refresh_token: &str) -> Tokens {
        Tokens::from_response(self.refresh(refresh_token).await).await
    }

    /// A request with `Authorization: Bearer <token>`.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// A request with a bearer token and a JSON body.
    pub async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.as_user(method, path, token)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
    }

    /// A new user of `role` in the caller's dealership, made through `POST /api/v1/users` as
    /// `token` (asserting 201): the created user.
    pub async fn create_user(
        &self,
        token: &str,
        email: &str,
        password: &str,
        role: &str,
    ) -> serde_json::Value {
        let resp = self
            .as_user(reqwest::Method::POST, "/api/v1/users", token)
            .json(&serde_json::json!({"email": email, "password": password,
                "first_name": "New", "last_name": "Hire", "role": role}))
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 201, "{email} created");
        resp.json().await.expect("the created user")
    }

    pub async fn post_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.as_user(reqwest::Method::POST, path, token)
            .send()
            .await
            .expect("request sent")
    }
}
