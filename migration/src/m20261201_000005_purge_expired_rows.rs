//! Tables that would only grow: failed-login counters whose window has passed and sessions that
//! ended long ago are deleted in bounded batches by a background task on every replica (rows are
//! claimed with SKIP LOCKED, so replicas purging at once do not wait on each other).

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_purge_expired_rows"
    }
}

fn up_sql() -> String {
    format!(
        r#"
-- counters whose window has passed and that hold no lock: at most p_batch of them
CREATE FUNCTION auth_throttle_purge(p_window_secs integer, p_batch integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH due AS (
        SELECT t.key FROM public.login_throttle t
        WHERE t.window_started_at < now() - make_interval(secs => p_window_secs)
          AND (t.locked_until IS NULL OR t.locked_until < now())
        LIMIT p_batch
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM public.login_throttle t USING due WHERE t.key = due.key RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
ALTER FUNCTION auth_throttle_purge(integer, integer) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_throttle_purge(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_throttle_purge(integer, integer) TO {PLATFORM_ROLE};

-- the purge runs in platform scope; tenants never delete sessions (they revoke them)
GRANT DELETE ON sessions TO {PLATFORM_ROLE};
"#
    )
}

fn down_sql() -> String {
    format!(
        r#"
REVOKE DELETE ON sessions FROM {PLATFORM_ROLE};
DROP FUNCTION auth_throttle_purge(integer, integer);
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
