//! The people source of the access review: every live membership in the caller's reach.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::Entry;
use crate::{error::AppError, scope::RequestScope};

/// The last role change of each membership is the latest `user.updated` event that changed
/// `role` or `custom_role_id` (one pass over the reach's events, not one per person).
const ENTRIES: &str = "\
WITH role_changes AS (
    SELECT DISTINCT ON (e.target_id) e.target_id, e.at, e.actor_id
    FROM audit_events e
    WHERE e.target_type = 'user' AND e.action = 'user.updated'
      AND (e.changes ? 'role' OR e.changes ? 'custom_role_id')
    ORDER BY e.target_id, e.at DESC)
SELECT m.id, p.email, p.first_name, p.last_name, m.dealership_id, d.name AS dealership,
       m.group_id, m.role, cr.name AS custom_role, coalesce(cr.permissions, '{}') AS permissions,
       m.is_active,
       EXISTS (SELECT 1 FROM mfa_factors f
               WHERE f.person_id = m.person_id AND f.confirmed_at IS NOT NULL) AS second_factor,
       m.last_login AS last_sign_in, m.last_active_at,
       CASE WHEN m.is_active AND m.role <> 'admin' AND coalesce(d.dormant_after_days, $1) > 0
            THEN greatest(m.last_active_at
                              + make_interval(days => coalesce(d.dormant_after_days, $1)),
                          m.dormant_notice_at + make_interval(days => $2))
       END AS dormant_at,
       m.created_at, m.added_by AS created_by_id, ap.email AS created_by,
       rc.at AS role_changed_at, rc.actor_id AS role_changed_by_id, rp.email AS role_changed_by
FROM memberships m
JOIN people p ON p.id = m.person_id
LEFT JOIN dealerships d ON d.id = m.dealership_id
LEFT JOIN custom_roles cr ON cr.id = m.custom_role_id
LEFT JOIN memberships am ON am.id = m.added_by
LEFT JOIN people ap ON ap.id = am.person_id
LEFT JOIN role_changes rc ON rc.target_id = m.id
LEFT JOIN memberships rm ON rm.id = rc.actor_id
LEFT JOIN people rp ON rp.id = rm.person_id
WHERE m.deleted_at IS NULL
ORDER BY d.name NULLS FIRST, m.group_id NULLS FIRST, lower(p.last_name), lower(p.first_name), m.id";

#[derive(Debug, FromQueryResult)]
struct Row {
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    dealership_id: Option<Uuid>,
    dealership: Option<String>,
    group_id: Option<Uuid>,
    role: String,
    custom_role: Option<String>,
    permissions: Vec<String>,
    is_active: bool,
    second_factor: bool,
    last_sign_in: Option<DateTime<Utc>>,
    last_active_at: DateTime<Utc>,
    dormant_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    created_by_id: Option<Uuid>,
    created_by: Option<String>,
    role_changed_at: Option<DateTime<Utc>>,
    role_changed_by_id: Option<Uuid>,
    role_changed_by: Option<String>,
}

/// `dormant_after` is the configured default (0 = off), `notice_days` how long a notice runs
/// before its deactivation.
pub async fn entries(
    scope: &RequestScope,
    dormant_after: u32,
    notice_days: u32,
) -> Result<Vec<Entry>, AppError> {
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        ENTRIES,
        [
            (dormant_after as i32).into(),
            (notice_days.min(3650) as i32).into(),
        ],
    ))
    .all(scope.tx())
    .await?;
    Ok(rows.into_iter().map(Entry::from).collect())
}

impl From<Row> for Entry {
    fn from(r: Row) -> Self {
        Entry {
            kind: "person",
            id: r.id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            dealership_id: r.dealership_id,
            dealership: r.dealership,
            group_id: r.group_id,
            role: r.role,
            custom_role: r.custom_role,
            permissions: r.permissions,
            is_active: r.is_active,
            second_factor: r.second_factor,
            last_sign_in: r.last_sign_in,
            last_active_at: r.last_active_at,
            dormant_at: r.dormant_at,
            created_at: r.created_at,
            created_by_id: r.created_by_id,
            created_by: r.created_by,
            role_changed_at: r.role_changed_at,
            role_changed_by_id: r.role_changed_by_id,
            role_changed_by: r.role_changed_by,
        }
    }
}
