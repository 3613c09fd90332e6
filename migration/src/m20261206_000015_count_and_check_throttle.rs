//! Counting and checking a throttle key in one statement (issue 20): `auth_throttle_take`
//! counts one event for a key unless a lock is in force, and says which. Asking the lock and
//! then counting let parallel requests all pass the ask before any was counted (30 reset
//! requests for one address queued 11 mails where the limit is 5); an upsert that counts only
//! while no lock is in force, and locks at the limit, lets exactly the limit through.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000015_count_and_check_throttle"
    }
}

fn up_sql() -> String {
    format!(
        r#"
-- counts one event for p_key (the p_max-th in a window of p_window_secs locks the key for
-- p_lock_secs) and answers NULL; while a lock is in force it counts nothing and answers the
-- seconds until the lock ends. The conflict's WHERE is judged on the row as the last writer
-- left it, so events racing for one key are counted and judged one after another.
CREATE FUNCTION auth_throttle_take(p_key text, p_max integer, p_window_secs integer, p_lock_secs integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.login_throttle AS t (key, failures, window_started_at, locked_until)
    VALUES (p_key, 1, now(), CASE WHEN p_max <= 1 THEN now() + make_interval(secs => p_lock_secs) END)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_started_at < now() - make_interval(secs => p_window_secs)
                        THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => p_window_secs)
                                 THEN now() ELSE t.window_started_at END,
        locked_until = CASE
            WHEN t.window_started_at < now() - make_interval(secs => p_window_secs)
            THEN CASE WHEN p_max <= 1 THEN now() + make_interval(secs => p_lock_secs) END
            WHEN t.failures + 1 >= p_max THEN now() + make_interval(secs => p_lock_secs)
            ELSE t.locked_until END
    WHERE t.locked_until IS NULL OR t.locked_until <= now();
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT greatest(1, ceil(extract(epoch FROM t.locked_until - now()))::integer)
            FROM public.login_throttle t WHERE t.key = p_key);
END
$$;
ALTER FUNCTION auth_throttle_take(text, integer, integer, integer) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_throttle_take(text, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_throttle_take(text, integer, integer, integer)
    TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = "DROP FUNCTION auth_throttle_take(text, integer, integer, integer);";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, DOWN).await
    }
}
