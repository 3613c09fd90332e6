//! Failed-login counters shared by every replica: per account (by email, whether or not it
//! exists) and per client IP. The table holds no tenant data and only the definer role may touch
//! it, through three narrow functions.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_create_login_throttle"
    }
}

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE login_throttle (
    key               text PRIMARY KEY,          -- 'account:<email>' or 'ip:<address>'
    failures          integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz
);
REVOKE ALL ON login_throttle FROM PUBLIC;
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO {DEFINER_ROLE};
CREATE POLICY definer_only ON login_throttle TO {DEFINER_ROLE} USING (true) WITH CHECK (true);

-- seconds until each of p_keys is unlocked; keys that are not locked are left out
CREATE FUNCTION auth_throttle_locked(p_keys text[])
RETURNS TABLE (key text, retry_after_secs integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.key, ceil(extract(epoch FROM t.locked_until - now()))::integer
    FROM public.login_throttle t
    WHERE t.key = ANY (p_keys) AND t.locked_until > now()
$$;

-- counts one failure for p_key in a window of p_window_secs; the p_max-th locks it
CREATE FUNCTION auth_throttle_fail(p_key text, p_max integer, p_window_secs integer, p_lock_secs integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.login_throttle AS t (key, failures, window_started_at, locked_until)
    VALUES (p_key, 1, now(), CASE WHEN p_max <= 1 THEN now() + make_interval(secs => p_lock_secs) END)
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_started_at < now() - make_interval(secs => p_window_secs)
                        THEN 1 ELSE t.failures + 1 END,
        window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => p_window_secs)
                                 THEN now() ELSE t.window_started_at END,
        locked_until = CASE
            WHEN t.window_started_at >= now() - make_interval(secs => p_window_secs)
                 AND t.failures + 1 >= p_max
            THEN now() + make_interval(secs => p_lock_secs)
            ELSE t.locked_until END
    RETURNING failures
$$;

CREATE FUNCTION auth_throttle_reset(p_key text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM public.login_throttle WHERE key = p_key
$$;

ALTER FUNCTION auth_throttle_locked(text[]) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION auth_throttle_fail(text, integer, integer, integer) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION auth_throttle_reset(text) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_throttle_locked(text[]), auth_throttle_fail(text, integer, integer, integer),
    auth_throttle_reset(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_throttle_locked(text[]), auth_throttle_fail(text, integer, integer, integer),
    auth_throttle_reset(text) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = r#"
DROP FUNCTION auth_throttle_reset(text);
DROP FUNCTION auth_throttle_fail(text, integer, integer, integer);
DROP FUNCTION auth_throttle_locked(text[]);
DROP TABLE login_throttle;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, DOWN).await
    }
}
