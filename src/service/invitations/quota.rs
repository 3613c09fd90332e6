//! How much invitation mail a dealership, and one sender, may make the platform send: at most
//! `mail.invitations_per_hour_per_dealership` and `…_per_sender` an hour (a send and a resend
//! count alike), counted in the invitation's own transaction (a refused or failed invitation
//! counts nothing). Past either, 429, and the refusal is audited: the mail carries the
//! sender's words to any address, so it must not become a way to spam.

use uuid::Uuid;

use crate::{
    auth::{principal::scope_of, throttle},
    error::AppError,
    scope::RequestScope,
    service::audit,
    state::AppState,
};

/// Counts one invitation mail of `dealership_id` (none: the platform's admins) by the scope's
/// caller to `email`; 429 once the hour's quota of either is used up.
pub(super) async fn take(
    state: &AppState,
    scope: &RequestScope,
    dealership_id: Option<Uuid>,
    email: &str,
) -> Result<(), AppError> {
    let mail = &state.settings.mail;
    let sender = scope.principal().user_id;
    let dealership = dealership_id.map_or_else(|| "platform".to_owned(), |id| id.to_string());
    let quotas = [
        (
            "dealership",
            format!("invitations:dealership:{dealership}"),
            mail.invitations_per_hour_per_dealership,
        ),
        (
            "sender",
            format!("invitations:sender:{sender}"),
            mail.invitations_per_hour_per_sender,
        ),
    ];
    for (which, key, max) in quotas {
        if let Some(retry_after_secs) = throttle::take_quota(scope.tx(), &key, max).await? {
            refused(state, scope, dealership_id, email, which).await?;
            return Err(AppError::RateLimited { retry_after_secs });
        }
    }
    Ok(())
}

/// `invitation.rate_limited`, in a transaction of its own: the scope's rolls back with the 429.
async fn refused(
    state: &AppState,
    scope: &RequestScope,
    dealership_id: Option<Uuid>,
    email: &str,
    which: &str,
) -> Result<(), AppError> {
    let tx = state.db.begin(scope_of(dealership_id, None)).await?;
    let event = audit::Event {
        dealership_id,
        actor_id: Some(scope.principal().user_id),
        action: "invitation.rate_limited",
        target_type: "invitation",
        target_id: None,
        changes: Some(serde_json::json!({"email": email, "limit": which})),
    };
    audit::record(&tx, scope.meta(), event).await?;
    tx.commit().await
}
