//! The notices of the revocation channel: what was revoked or changed, as every replica's
//! caches ([`super::sessions`], [`super::profiles`]) read it, and how a transaction sends one.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::{error::AppError, tenancy::TenantTx};

pub const CHANNEL: &str = "dealergate_revocations";

/// A notice on [`CHANNEL`]: what was revoked (one session, every session of a user, or of a
/// dealership), or whose profile changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Session(Uuid),
    /// Every session of the membership (a user of the API), and its cached profile.
    User(Uuid),
    /// Every session and profile of the person, in every dealership: their credentials or
    /// names changed (sent by the `people` trigger on commit, and by the services that end
    /// a person's sessions).
    Person(Uuid),
    Dealership(Uuid),
    /// Not a revocation: the user's row changed, so their cached profile is stale (their
    /// sessions stand). Sent by the `users` trigger on commit, whoever changed the row.
    Profile(Uuid),
}

impl Revoked {
    /// The metrics label.
    pub fn kind(self) -> &'static str {
        match self {
            Revoked::Session(_) => "session",
            Revoked::User(_) => "user",
            Revoked::Person(_) => "person",
            Revoked::Dealership(_) => "dealership",
            Revoked::Profile(_) => "profile",
        }
    }

    fn payload(self) -> String {
        match self {
            Revoked::Session(id) => format!("session:{id}"),
            Revoked::User(id) => format!("user:{id}"),
            Revoked::Person(id) => format!("person:{id}"),
            Revoked::Dealership(id) => format!("dealership:{id}"),
            Revoked::Profile(id) => format!("profile:{id}"),
        }
    }

    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        let id = Uuid::try_parse(id).ok()?;
        match kind {
            "session" => Some(Revoked::Session(id)),
            "user" => Some(Revoked::User(id)),
            "person" => Some(Revoked::Person(id)),
            "dealership" => Some(Revoked::Dealership(id)),
            "profile" => Some(Revoked::Profile(id)),
            _ => None,
        }
    }
}

/// Announces a revocation to every replica when `tx` commits (and never if it rolls back).
pub async fn publish(tx: &TenantTx, what: Revoked) -> Result<(), AppError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), what.payload().into()],
    ))
    .await?;
    crate::metrics::metrics()
        .revocations_published
        .with_label_values(&[what.kind()])
        .inc();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let id = Uuid::now_v7();
        for what in [
            Revoked::Session(id),
            Revoked::User(id),
            Revoked::Person(id),
            Revoked::Dealership(id),
            Revoked::Profile(id),
        ] {
            assert_eq!(Revoked::parse(&what.payload()), Some(what));
        }
        assert_eq!(Revoked::parse("tenant:x"), None);
    }
}
