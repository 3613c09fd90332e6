//! Signed webhooks (issue 26): endpoints a dealership's principal (or an admin, for the
//! platform) registers ([`endpoints`]), the outbox the `webhook_emit` trigger fills from the
//! audit log in the transaction of each change ([`outbox`]: the sequencer, leases and the
//! record of each attempt), the sender every replica runs ([`sender`]), the log and manual
//! redelivery ([`deliveries`]), and what happens to an endpoint that keeps failing
//! ([`disabling`]). docs/webhooks.md says what receivers see.

pub mod deliveries;
pub mod disabling;
pub mod endpoints;
pub mod outbox;
pub mod sender;

use uuid::Uuid;

use crate::{
    auth::mfa::SecretBox, authz::Reach, config::WebhookSettings, error::AppError,
    scope::RequestScope, webhooks::guard::Allow,
};

/// The event types an endpoint may want (the `webhook_event_type` SQL function of migration
/// 000022 maps audit actions to them).
pub const EVENT_TYPES: [&str; 14] = [
    "user.created",
    "user.updated",
    "user.role_changed",
    "user.deactivated",
    "user.deleted",
    "role.changed",
    "session.revoked",
    "mfa.enrolled",
    "mfa.reset",
    "invitation.accepted",
    "dealership.suspended",
    "policy.reloaded",
    "service_account.created",
    "service_account.revoked",
];

/// What the endpoint services need beside the scope: the sealing key, what the guard allows,
/// and how long a rotated secret still signs.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub sealer: &'a SecretBox,
    pub allow: Allow,
    pub overlap_secs: u64,
}

impl<'a> Setup<'a> {
    pub fn of(sealer: &'a SecretBox, settings: &WebhookSettings) -> Self {
        Self {
            sealer,
            allow: Allow::of(settings),
            overlap_secs: settings.secret_overlap_secs,
        }
    }
}

/// The associated data a secret is sealed under: the endpoint and its dealership (nil for a
/// platform endpoint), so a sealed secret copied to another row does not open.
pub(crate) fn sealed_for(dealership_id: Option<Uuid>) -> Uuid {
    dealership_id.unwrap_or(Uuid::nil())
}

/// The dealership whose endpoints the caller manages: `None` at `any` reach (every one, and
/// the platform's), their own at `dealership` reach; 403 otherwise.
pub(crate) fn managed(scope: &RequestScope) -> Result<Option<Uuid>, AppError> {
    match scope.reach() {
        Reach::Any => Ok(None),
        Reach::Dealership => scope
            .principal()
            .dealership_id
            .map(Some)
            .ok_or(AppError::Forbidden),
        Reach::Group | Reach::Own => Err(AppError::Forbidden),
    }
}
