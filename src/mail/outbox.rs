//! The transactional outbox (`mail_outbox`, a tenant table: see migration 000008). A message is
//! queued by [`enqueue`] in the transaction of the change it reports, so a change that rolls
//! back sends nothing and a committed one always has its message. The sender claims due rows
//! with `FOR UPDATE SKIP LOCKED` (replicas never take the same row) and leases them for a while
//! instead of holding a transaction open across the SMTP exchange: a replica that dies
//! mid-send leaves the lease to expire, and another replica sends the message again.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::templates::{Kind, Rendered};
use crate::{
    error::AppError,
    tenancy::TenantTx,
    tenancy::{Database, Scope},
};

/// The NOTIFY channel that wakes the senders when a message is queued.
pub const CHANNEL: &str = "dealergate_mail";

/// A message ready to queue.
pub struct Outgoing {
    pub kind: Kind,
    /// The recipient's dealership (`None` for platform admins): the row's tenant.
    pub dealership_id: Option<Uuid>,
    pub recipient: String,
    pub rendered: Rendered,
    /// The link it carries, logged by the dev file outbox; cleared once sent.
    pub link: Option<String>,
}

/// Queues `message` in `tx` and wakes the senders when `tx` commits (NOTIFY is delivered on
/// commit only). The runtime role may insert but not read the queue, hence no `RETURNING`.
pub async fn enqueue(tx: &TenantTx, message: Outgoing) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO mail_outbox \
             (id, dealership_id, kind, recipient, subject, text_body, html_body, link, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())",
        [
            id.into(),
            message.dealership_id.into(),
            message.kind.name().into(),
            message.recipient.into(),
            message.rendered.subject.into(),
            message.rendered.text.into(),
            message.rendered.html.into(),
            message.link.into(),
        ],
    ))
    .await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, '')",
        [CHANNEL.into()],
    ))
    .await?;
    Ok(id)
}

/// A message this replica has leased for one attempt.
#[derive(Debug, FromQueryResult)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub link: Option<String>,
    /// including this one
    pub attempts: i32,
}

/// Leases up to `batch` due messages for `lease` and counts the attempt.
pub async fn claim(db: &Database, batch: u32, lease: Duration) -> Result<Vec<Claimed>, AppError> {
    let tx = db.begin(Scope::Platform).await?;
    let claimed = Claimed::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH due AS ( \
             SELECT id FROM mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() \
             ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE mail_outbox m SET due_at = now() + make_interval(secs => $2), \
                                  attempts = m.attempts + 1 \
         FROM due WHERE m.id = due.id \
         RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, \
                   m.attempts",
        [
            (batch.min(i32::MAX as u32) as i32).into(),
            lease.as_secs_f64().into(),
        ],
    ))
    .all(&tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Sent: the bodies and the link (a live token) leave the database.
pub async fn mark_sent(db: &Database, id: Uuid) -> Result<(), AppError> {
    platform_update(
        db,
        "UPDATE mail_outbox SET sent_at = now(), text_body = NULL, html_body = NULL, \
                link = NULL, last_error = NULL WHERE id = $1",
        vec![id.into()],
    )
    .await
}

/// A failed attempt: retried after `retry_after`, or given up (`give_up`), with its error.
pub async fn mark_failed(
    db: &Database,
    id: Uuid,
    error: &str,
    retry_after: Duration,
    give_up: bool,
) -> Result<(), AppError> {
    platform_update(
        db,
        "UPDATE mail_outbox SET last_error = $2, \
                due_at = now() + make_interval(secs => $3), \
                failed_at = CASE WHEN $4 THEN now() END, \
                text_body = CASE WHEN $4 THEN NULL ELSE text_body END, \
                html_body = CASE WHEN $4 THEN NULL ELSE html_body END, \
                link = CASE WHEN $4 THEN NULL ELSE link END \
         WHERE id = $1",
        vec![
            id.into(),
            error.into(),
            retry_after.as_secs_f64().into(),
            give_up.into(),
        ],
    )
    .await
}

async fn platform_update(
    db: &Database,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<(), AppError> {
    let tx = db.begin(Scope::Platform).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    tx.commit().await
}

/// What is waiting: how many, the oldest's age, and when the next is due.
#[derive(Debug, FromQueryResult)]
pub struct Queue {
    pub depth: i64,
    pub oldest_age_secs: f64,
    /// seconds until the earliest pending message is due (0 if one is due now); `None` if
    /// nothing is pending
    pub next_due_secs: Option<f64>,
}

pub async fn queue(db: &Database) -> Result<Queue, AppError> {
    let tx = db.begin_reading(Scope::Platform).await?;
    let queue = Queue::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT count(*) AS depth, \
                coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, \
                (CASE WHEN count(*) > 0 \
                      THEN greatest(extract(epoch FROM min(due_at) - now()), 0) END)::float8 \
                    AS next_due_secs \
         FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    ))
    .one(&tx)
    .await?
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("the queue query returned no row")))?;
    tx.commit().await?;
    Ok(queue)
}
