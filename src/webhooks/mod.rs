//! Outbound webhooks, the parts that know nothing of tenants: the Standard Webhooks signature
//! ([`signing`]), the SSRF guard on where a request may go ([`guard`]), and the one HTTP client
//! that posts an event under that guard ([`client`]). What is owed to whom, and when, is the
//! outbox's (`service::webhooks`).

pub mod client;
pub mod guard;
pub mod signing;

/// The NOTIFY channel the `webhook_emit` trigger (migration 000022) sends on when it queues an
/// event: it wakes the senders.
pub const CHANNEL: &str = "dealergate_webhooks";
