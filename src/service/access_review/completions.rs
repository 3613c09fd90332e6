//! A finished access review: who completed it, when, and the SHA-256 of the export they
//! reviewed (the file itself is the reviewer's evidence; the hash ties it to this record).
//! Append-only; audited `access_review.completed`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    authz::Reach,
    error::AppError,
    scope::RequestScope,
    service::{Page, audit},
};

#[derive(Debug, Clone, FromQueryResult)]
pub struct Completion {
    pub id: Uuid,
    pub dealership_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub completed_by: Uuid,
    pub export_sha256: String,
    pub note: Option<String>,
    pub completed_at: DateTime<Utc>,
}

/// What a completion says: the export's hash (64 lowercase hex digits) and an optional note.
#[derive(Debug, Clone)]
pub struct NewCompletion {
    pub export_sha256: String,
    pub note: Option<String>,
}

impl NewCompletion {
    /// 422 on `export_sha256` unless it is a SHA-256 in hex (either case; stored lowercase),
    /// on `note` over 2,000 characters.
    pub fn parse(export_sha256: &str, note: Option<String>) -> Result<Self, AppError> {
        let hash = export_sha256.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::field(
                "export_sha256",
                "must be the SHA-256 of the export: 64 hexadecimal digits",
            ));
        }
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            return Err(AppError::field("note", "must be at most 2000 characters"));
        }
        Ok(Self {
            export_sha256: hash,
            note,
        })
    }
}

const COLUMNS: &str =
    "id, dealership_id, group_id, completed_by, export_sha256, note, completed_at";

/// Records that the caller reviewed the access of their reach: their dealership, their group,
/// or the platform (an admin's).
pub async fn record(scope: &RequestScope, new: NewCompletion) -> Result<Completion, AppError> {
    let me = scope.principal();
    let (dealership_id, group_id) = match scope.reach() {
        Reach::Any => (None, None),
        _ => (me.dealership_id, me.group_id),
    };
    let done = Completion::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "INSERT INTO access_review_completions \
                 (dealership_id, group_id, completed_by, export_sha256, note) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ),
        [
            dealership_id.into(),
            group_id.into(),
            me.user_id.into(),
            new.export_sha256.clone().into(),
            new.note.clone().into(),
        ],
    ))
    .one(scope.tx())
    .await?
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("the completion was not returned")))?;
    let event = audit::Event {
        dealership_id,
        actor_id: Some(me.user_id),
        action: "access_review.completed",
        target_type: "access_review",
        target_id: Some(done.id),
        changes: Some(json!({"export_sha256": new.export_sha256, "note": new.note})),
    };
    audit::record_in(scope, event).await?;
    Ok(done)
}

/// Past completions in the caller's reach, newest first, and how many there are in all.
pub async fn list(scope: &RequestScope, page: Page) -> Result<(Vec<Completion>, u64), AppError> {
    let listed = Completion::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM access_review_completions \
             ORDER BY completed_at DESC, id DESC LIMIT $1 OFFSET $2"
        ),
        [(page.limit as i64).into(), (page.offset as i64).into()],
    ))
    .all(scope.tx())
    .await?;
    let total = scope
        .tx()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM access_review_completions",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok((listed, total.max(0) as u64))
}
