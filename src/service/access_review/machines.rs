//! The service-account source of the access review: every account in the caller's reach that
//! was not ended by a person (a dormant-disabled one shows, inactive), with its maker and its
//! last use. A machine has no second factor to count against it, and no email.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::Entry;
use crate::{error::AppError, scope::RequestScope};

const ENTRIES: &str = "\
SELECT s.id, s.name, s.dealership_id, d.name AS dealership, s.group_id, s.role,
       cr.name AS custom_role, coalesce(cr.permissions, '{}') AS permissions,
       (s.disabled_at IS NULL) AS is_active, s.last_used_at,
       coalesce(s.last_used_at, s.created_at) AS last_active_at,
       CASE WHEN s.disabled_at IS NULL AND coalesce(d.dormant_after_days, $1) > 0
            THEN coalesce(s.last_used_at, s.created_at)
                 + make_interval(days => coalesce(d.dormant_after_days, $1))
       END AS dormant_at,
       s.created_at, s.created_by AS created_by_id, mp.email AS created_by
FROM service_accounts s
LEFT JOIN dealerships d ON d.id = s.dealership_id
LEFT JOIN custom_roles cr ON cr.id = s.custom_role_id
LEFT JOIN memberships m ON m.id = s.created_by
LEFT JOIN people mp ON mp.id = m.person_id
WHERE s.revoked_at IS NULL
ORDER BY d.name NULLS FIRST, s.group_id NULLS FIRST, lower(s.name), s.id";

#[derive(Debug, FromQueryResult)]
struct Row {
    id: Uuid,
    name: String,
    dealership_id: Option<Uuid>,
    dealership: Option<String>,
    group_id: Option<Uuid>,
    role: String,
    custom_role: Option<String>,
    permissions: Vec<String>,
    is_active: bool,
    last_used_at: Option<DateTime<Utc>>,
    last_active_at: DateTime<Utc>,
    dormant_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    created_by_id: Option<Uuid>,
    created_by: Option<String>,
}

/// `dormant_after` is the configured default (0 = off).
pub async fn entries(scope: &RequestScope, dormant_after: u32) -> Result<Vec<Entry>, AppError> {
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        ENTRIES,
        [(dormant_after as i32).into()],
    ))
    .all(scope.tx())
    .await?;
    Ok(rows.into_iter().map(Entry::from).collect())
}

impl From<Row> for Entry {
    fn from(r: Row) -> Self {
        Entry {
            kind: "service_account",
            id: r.id,
            email: String::new(),
            first_name: r.name,
            last_name: String::new(),
            dealership_id: r.dealership_id,
            dealership: r.dealership,
            group_id: r.group_id,
            role: r.role,
            custom_role: r.custom_role,
            permissions: r.permissions,
            is_active: r.is_active,
            second_factor: false,
            last_sign_in: r.last_used_at,
            last_active_at: r.last_active_at,
            dormant_at: r.dormant_at,
            created_at: r.created_at,
            created_by_id: r.created_by_id,
            created_by: r.created_by,
            // a service account's role is fixed when it is made
            role_changed_at: None,
            role_changed_by_id: None,
            role_changed_by: None,
        }
    }
}
