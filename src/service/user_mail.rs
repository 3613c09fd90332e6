//! A message to one user, composed in the transaction that queues it: their name, their
//! dealership's name (none for platform admins), the link and how long it lives.

use sea_orm::EntityTrait;

use crate::{
    entity::{dealership, user},
    error::AppError,
    mail::{Compose, Context, Kind, outbox},
    state::AppState,
    tenancy::TenantTx,
};

pub async fn compose(
    state: &AppState,
    tx: &TenantTx,
    kind: Kind,
    user: &user::Model,
    link: String,
    ttl_secs: u64,
) -> Result<outbox::Outgoing, AppError> {
    let mut letter = letter(tx, kind, user).await?;
    letter.context.link = link;
    letter.context.expires_minutes = ttl_secs.div_ceil(60);
    state.mail.compose(letter)
}

/// The message `kind` to `user`, addressed and named, with no link: for a caller that sets
/// more (another recipient, a `new_email`) before [`Mailer::compose`](crate::mail::Mailer).
pub async fn letter(tx: &TenantTx, kind: Kind, user: &user::Model) -> Result<Compose, AppError> {
    let mut letter = addressed(tx, kind, user.dealership_id, &user.email).await?;
    letter.context.first_name = user.first_name.clone();
    Ok(letter)
}

/// The message `kind` to `recipient` of `dealership_id` (who may not be a user yet), with the
/// dealership's name and nothing else filled in.
pub async fn addressed(
    tx: &TenantTx,
    kind: Kind,
    dealership_id: Option<uuid::Uuid>,
    recipient: &str,
) -> Result<Compose, AppError> {
    let dealership = match dealership_id {
        Some(id) => dealership::Entity::find_by_id(id)
            .one(tx)
            .await?
            .map(|d| d.name),
        None => None,
    };
    Ok(Compose {
        kind,
        dealership_id,
        recipient: recipient.to_owned(),
        context: Context {
            email: recipient.to_owned(),
            dealership,
            ..Context::default()
        },
    })
}
