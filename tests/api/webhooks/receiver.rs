//! A webhook receiver on 127.0.0.1 that keeps what it receives and answers as the test says
//! (200, 500, or never), and the independent verifier (`standardwebhooks` of PyPI).

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use poem::{
    EndpointExt, Request, Route, Server, handler, http::StatusCode, listener::TcpListener,
    web::Data,
};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Ok,
    Fail,
    Hang,
}

#[derive(Clone)]
struct Shared {
    got: Arc<Mutex<Vec<Delivery>>>,
    answer: Arc<Mutex<Answer>>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

#[handler]
async fn receive(req: &Request, body: String, shared: Data<&Shared>) -> StatusCode {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    shared.got.lock().unwrap().push(Delivery { headers, body });
    let answer = *shared.answer.lock().unwrap();
    match answer {
        Answer::Ok => StatusCode::NO_CONTENT,
        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Listens on 127.0.0.1 (loopback only: tests send nothing anywhere else).
    pub async fn start(answer: Answer) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("bound").port();
        drop(listener);
        let shared = Shared {
            got: Arc::default(),
            answer: Arc::new(Mutex::new(answer)),
        };
        let app = Route::new().at("/*path", receive).data(shared.clone());
        let server = Server::new(TcpListener::bind(format!("127.0.0.1:{port}")));
        tokio::spawn(async move {
            let _ = server.run(app).await;
        });
        let receiver = Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            shared,
        };
        // the listener is up once a connection is accepted
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        receiver
    }

    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.shared.got.lock().unwrap().clone()
    }

    /// Once at least `n` requests came; panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} deliveries not received within {within:?}; got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The venv's python (tests/run.sh makes it), or `None` with a loud message outside CI.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("DEALERGATE_RP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/.venv/bin/python")
        });
    if python.exists() {
        return Some(python);
    }
    let missing = format!(
        "{} is missing: bash tests/run.sh makes the virtualenv with standardwebhooks",
        python.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{missing}");
    eprintln!("\n!!! SKIPPED the standardwebhooks verification: {missing}\n");
    None
}

/// Whether the `standardwebhooks` package verifies every one of `deliveries` with `secret`
/// (`true` where the venv is missing outside CI: skipped loudly).
pub fn verified_by_standardwebhooks(secret: &str, deliveries: &[Delivery]) -> bool {
    use std::io::Write;
    let Some(python) = python() else { return true };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/verify.py");
    let input: Vec<serde_json::Value> = deliveries
        .iter()
        .map(|d| {
            let headers: serde_json::Map<String, serde_json::Value> = d
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone().into()))
                .collect();
            serde_json::json!({"headers": headers, "body": d.body})
        })
        .collect();
    let mut child = std::process::Command::new(python)
        .arg(script)
        .arg(secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("python ends");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}
