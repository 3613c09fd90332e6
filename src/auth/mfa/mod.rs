//! The second factor's primitives: TOTP secrets sealed at rest ([`SecretBox`]), the codes an
//! authenticator app shows ([`totp`]), and single-use recovery codes ([`recovery`]). What a
//! factor means for a session, and where it is stored, is in `service::mfa`.

pub mod recovery;
mod sealed;
pub mod totp;

pub use sealed::SecretBox;

use serde::{Deserialize, Serialize};

/// Where a user stands with the second factor, as their access token says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// No factor, and none required.
    #[default]
    Optional,
    /// At least one confirmed factor: sign-in asks for it, sensitive changes a recent one.
    Enrolled,
    /// Required (by role or dealership) but not enrolled: the session may only enrol.
    MustEnrol,
}

/// Whether a sensitive change may go ahead without stepping up: `Some(true)` if a second
/// factor was proven within `max_age_secs`, `Some(false)` if the token shows a factor proven
/// too long ago (or never in this session), `None` if it shows none (the token may predate an
/// enrolment: ask [`enrolled`]).
pub fn step_up_standing(
    principal: &super::principal::Principal,
    max_age_secs: u64,
) -> Option<bool> {
    if principal.otp_within(max_age_secs) {
        Some(true)
    } else if principal.mfa == Standing::Enrolled {
        Some(false)
    } else {
        None
    }
}

/// Whether person `person_id` has a confirmed factor, in a transaction that can see them.
pub async fn enrolled(
    tx: &crate::tenancy::TenantTx,
    person_id: uuid::Uuid,
) -> Result<bool, crate::error::AppError> {
    use sea_orm::{DbBackend, FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Row {
        enrolled: bool,
    }
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT EXISTS (SELECT 1 FROM mfa_factors \
                        WHERE person_id = $1 AND confirmed_at IS NOT NULL) AS enrolled",
        [person_id.into()],
    ))
    .one(tx)
    .await?;
    Ok(row.is_some_and(|r| r.enrolled))
}

/// 403 `step_up_required` unless the caller may make a sensitive change now ([`step_up_standing`]);
/// `tx` must see the caller's own rows.
pub async fn require_step_up(
    tx: &crate::tenancy::TenantTx,
    principal: &super::principal::Principal,
    max_age_secs: u64,
) -> Result<(), crate::error::AppError> {
    if principal.service_account.is_some() {
        return Err(crate::error::AppError::NotForMachines(
            "confirm a second factor: sensitive changes are made by people",
        ));
    }
    let fine = match step_up_standing(principal, max_age_secs) {
        Some(fine) => fine,
        None => !enrolled(tx, principal.user_id).await?,
    };
    if fine {
        Ok(())
    } else {
        Err(crate::error::AppError::StepUpRequired)
    }
}
