//! MFA coverage (FTC Safeguards Rule 314.4(c)(5)): per dealership, how many active people have
//! a second factor, and who does not. The platform-wide ratio is also a gauge; per-dealership
//! figures are the API's only (a label per dealership is too many series for many tenants).

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::Entry;
use crate::{error::AppError, tenancy::Database, tenancy::Scope};

/// One dealership's (or group's, for group memberships) coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub dealership_id: Option<Uuid>,
    pub dealership: Option<String>,
    pub group_id: Option<Uuid>,
    pub people: u64,
    pub with_second_factor: u64,
}

impl Coverage {
    /// With a factor over all; 1 when there is nobody (nobody lacks one).
    pub fn ratio(&self) -> f64 {
        if self.people == 0 {
            1.0
        } else {
            self.with_second_factor as f64 / self.people as f64
        }
    }
}

/// Coverage per place and in total, from the access review's entries (active people only),
/// and the entries without a second factor.
pub fn of(entries: &[Entry]) -> (Vec<Coverage>, Coverage, Vec<&Entry>) {
    let mut places: Vec<Coverage> = Vec::new();
    let mut total = Coverage {
        dealership_id: None,
        dealership: None,
        group_id: None,
        people: 0,
        with_second_factor: 0,
    };
    for e in entries.iter().filter(|e| e.is_active && e.kind == "person") {
        let at = places
            .iter()
            .position(|c| c.dealership_id == e.dealership_id && c.group_id == e.group_id);
        let place = match at {
            Some(i) => &mut places[i],
            None => {
                places.push(Coverage {
                    dealership_id: e.dealership_id,
                    dealership: e.dealership.clone(),
                    group_id: e.group_id,
                    people: 0,
                    with_second_factor: 0,
                });
                places.last_mut().expect("just pushed")
            }
        };
        for c in [place, &mut total] {
            c.people += 1;
            c.with_second_factor += u64::from(e.second_factor);
        }
    }
    let without = entries
        .iter()
        .filter(|e| e.is_active && e.kind == "person" && !e.second_factor)
        .collect();
    (places, total, without)
}

#[derive(FromQueryResult)]
struct Counts {
    people: i64,
    with_factor: i64,
}

/// Sets `dealergate_mfa_coverage_ratio`: active people (each person once) with a confirmed
/// factor over all active people, platform-wide.
pub async fn set_gauge(db: &Database) -> Result<(), AppError> {
    let tx = db.begin_reading(Scope::Platform).await?;
    let row = tx
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS people, count(*) FILTER (WHERE EXISTS ( \
                 SELECT 1 FROM mfa_factors f \
                 WHERE f.person_id = p.id AND f.confirmed_at IS NOT NULL)) AS with_factor \
             FROM people p WHERE p.deleted_at IS NULL AND EXISTS ( \
                 SELECT 1 FROM memberships m \
                 WHERE m.person_id = p.id AND m.deleted_at IS NULL AND m.is_active)",
        ))
        .await?;
    tx.commit().await?;
    let counts = row.map(|r| Counts::from_query_result(&r, "")).transpose()?;
    if let Some(c) = counts {
        let ratio = if c.people == 0 {
            1.0
        } else {
            c.with_factor as f64 / c.people as f64
        };
        crate::metrics::metrics().mfa_coverage_ratio.set(ratio);
    }
    Ok(())
}
