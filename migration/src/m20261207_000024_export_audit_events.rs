//! Audit export and retention (issue 26, part 7).
//!
//! An event's `at` is its transaction's start, and transactions commit out of order, so a
//! cursor on time would skip an event that commits late. Each event also keeps the id of the
//! transaction that wrote it (`txid`, `pg_current_xact_id()`): every transaction below the
//! oldest one still running (`pg_snapshot_xmin(pg_current_snapshot())`) has ended, so the
//! events below it are final and an export ordered by `(txid, id)` can hand out a cursor that
//! never passes a row still to come. Rows written before this migration get txid 0, which
//! orders before any live transaction (they are final; among themselves `id`, a UUIDv7, orders
//! them by time).
//!
//! Retention: the log stays append-only for the runtime and platform roles (SELECT and INSERT
//! only); old events leave through one narrow `SECURITY DEFINER` function,
//! `audit_events_purge`, that only the platform role may call, deletes at most a batch of
//! events older than the time it is given, and never one younger than a day.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000024_export_audit_events"
    }
}

fn up_sql() -> String {
    format!(
        r#"
-- a constant default first: existing rows get 0 without a table rewrite
ALTER TABLE audit_events ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
ALTER TABLE audit_events ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX audit_events_export_idx ON audit_events (txid, id);
CREATE INDEX audit_events_dealership_export_idx ON audit_events (dealership_id, txid, id);
CREATE INDEX audit_events_at_idx ON audit_events (at);

CREATE FUNCTION audit_events_purge(p_before timestamptz, p_batch integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH due AS (
        SELECT e.id FROM public.audit_events e
        -- never a day's events, whatever the caller asks
        WHERE e.at < least(p_before, now() - interval '1 day')
        ORDER BY e.at
        LIMIT greatest(p_batch, 0)
    ), gone AS (
        DELETE FROM public.audit_events e USING due WHERE e.id = due.id RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
ALTER FUNCTION audit_events_purge(timestamptz, integer) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION audit_events_purge(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_events_purge(timestamptz, integer) TO {PLATFORM_ROLE};
-- what the purge reads and deletes, and nothing more
GRANT SELECT (id, at), DELETE ON audit_events TO {DEFINER_ROLE};
CREATE POLICY definer_purge_reads ON audit_events FOR SELECT TO {DEFINER_ROLE} USING (true);
CREATE POLICY definer_purges ON audit_events FOR DELETE TO {DEFINER_ROLE} USING (true);
"#
    )
}

fn down_sql() -> String {
    format!(
        r#"
DROP POLICY definer_purges ON audit_events;
DROP POLICY definer_purge_reads ON audit_events;
REVOKE SELECT (id, at), DELETE ON audit_events FROM {DEFINER_ROLE};
DROP FUNCTION audit_events_purge(timestamptz, integer);
DROP INDEX audit_events_at_idx;
DROP INDEX audit_events_dealership_export_idx;
DROP INDEX audit_events_export_idx;
ALTER TABLE audit_events DROP COLUMN txid;
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &down_sql()).await
    }
}
