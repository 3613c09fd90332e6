//! A real SMTP server for the tests (`mailin-embedded`: plain SMTP, blocking threads) that
//! keeps every message it accepts. Each mail test starts its own; the other test servers send
//! to one shared [`sink`].

use std::{
    net::TcpListener,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body, transfer encodings undone by [`Received::text`]).
    pub data: String,
    pub at: Instant,
}

impl Received {
    /// The message with quoted-printable soft breaks and escapes undone.
    pub fn text(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                std::str::from_utf8(h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            });
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .split("\r\n\r\n")
            .next()?
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The token of the link in the message (`token=…`).
    pub fn token(&self) -> String {
        let text = self.text();
        let start = text.find("token=").expect("a link with a token") + "token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect()
    }
}

#[derive(Clone)]
struct Keeper {
    store: Arc<Mutex<Vec<Received>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Keeper {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
            at: Instant::now(),
        };
        self.store.lock().unwrap().push(received);
        response::OK
    }
}

pub struct SmtpServer {
    pub port: u16,
    store: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").expect("an SMTP port"))
    }

    /// A server on `port`, which nothing listened on until now (see [`free_port`]).
    pub fn start_on(port: u16) -> Self {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).expect("the SMTP port is free"))
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().expect("bound").port();
        let store = Arc::new(Mutex::new(Vec::new()));
        let keeper = Keeper {
            store: store.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(keeper);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .expect("plain SMTP")
            .with_num_threads(2)
            .with_tcp_listener(listener);
        // the server lives as long as the test process; a test drops only its handle
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, store }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.store.lock().unwrap().clone()
    }

    /// The messages to `to`, once there are at least `n` of them; panics after `within`.
    pub async fn wait_for(&self, to: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let found: Vec<_> = self
                .received()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{n} message(s) to {to} not received within {within:?}; got {}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A port nothing listens on (bound, then released): an SMTP server that is down.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The SMTP server every other test server sends to.
pub fn sink() -> &'static SmtpServer {
    static SINK: OnceLock<SmtpServer> = OnceLock::new();
    SINK.get_or_init(SmtpServer::start)
}

/// A "password changed" notice to `recipient` of Premium Auto, composed as the services do:
/// an outbox row for tests that enqueue mail themselves.
pub fn notice(app: &super::TestApp, recipient: &str) -> dealergate::testing::outbox::Outgoing {
    use dealergate::testing::{Compose, Context, Kind};
    app.state
        .mail
        .compose(Compose {
            kind: Kind::PasswordChanged,
            dealership_id: Some(super::PREMIUM_AUTO),
            recipient: recipient.into(),
            context: Context {
                first_name: "Alice".into(),
                email: recipient.into(),
                dealership: Some("Premium Auto".into()),
                link: String::new(),
                expires_minutes: 30,
                new_email: None,
                role: None,
                endpoint: None,
                deadline: None,
            },
        })
        .unwrap()
}

/// A test server mailing to an SMTP server of its own (whose messages the test reads), with
/// `configure` applied after the mail settings.
pub async fn mailing_app(
    configure: impl FnOnce(&mut dealergate::config::Settings),
) -> (super::TestApp, SmtpServer) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = super::spawn_app_with(|s| {
        s.mail.smtp_url = Some(dealergate::config::Secret::new(url));
        configure(s);
    })
    .await;
    (app, smtp)
}
