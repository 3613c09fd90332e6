//! The one HTTP client of the senders: no redirects followed, no proxy from the environment,
//! the guarded resolver, a short timeout, and an answer read up to a cap.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::redirect::Policy;

use super::guard::{self, Allow, Guarded};
use crate::config::WebhookSettings;

/// A request ready to send: the endpoint and the signed event.
pub struct Signed<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// What an attempt came to.
#[derive(Debug)]
pub struct Outcome {
    /// The receiver's status; `None` when no answer came.
    pub status: Option<u16>,
    pub duration: Duration,
    /// Why it failed (the guard's refusal, a timeout, the start of a non-2xx answer).
    pub error: Option<String>,
}

impl Outcome {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    allow: Allow,
    max_response_bytes: usize,
}

impl Client {
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        let allow = Allow::of(settings);
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(Guarded(allow)))
            .https_only(!allow.http)
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("dealergate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            allow,
            max_response_bytes: settings.max_response_bytes,
        })
    }

    /// Posts `signed`. An IP-literal host is checked here (it is never resolved); a name is
    /// checked by the resolver as the connection is made.
    pub async fn post(&self, signed: Signed<'_>) -> Outcome {
        let started = Instant::now();
        let outcome = |status, error| Outcome {
            status,
            duration: started.elapsed(),
            error,
        };
        if let Err(why) = guard::check_url(signed.url, self.allow) {
            return outcome(
                None,
                Some(format!("refused by the SSRF guard: the URL {why}")),
            );
        }
        let sent = self
            .http
            .post(signed.url)
            .header("content-type", "application/json")
            .header("webhook-id", signed.id)
            .header("webhook-timestamp", signed.timestamp.to_string())
            .header("webhook-signature", signed.signature)
            .body(signed.body.to_vec())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return outcome(None, Some(causes(&err))),
        };
        let status = response.status().as_u16();
        // read at most the cap: a receiver cannot make us hold a large answer
        let mut answer = Vec::new();
        while answer.len() < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(err) => return outcome(Some(status), Some(causes(&err))),
            }
        }
        let error = (!(200..300).contains(&status)).then(|| {
            let text = String::from_utf8_lossy(&answer);
            format!(
                "answered {status}: {}",
                text.chars().take(500).collect::<String>()
            )
        });
        outcome(Some(status), error)
    }
}

/// An error and its causes in one line (the guard's refusal is a cause of reqwest's error).
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut words = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words.chars().take(500).collect()
}
