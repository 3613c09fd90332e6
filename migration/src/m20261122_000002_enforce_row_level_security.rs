//! Row-level security: the runtime roles, their grants, forced RLS on every tenant table, and
//! the two `SECURITY DEFINER` lookups that run before a tenant is known (login and refresh).
//!
//! Roles are cluster-wide and shared by every database on the server (test databases, other
//! environments), so they are created idempotently and tolerate a concurrent creator, and `down`
//! leaves them in place: it revokes what this database granted instead.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_enforce_row_level_security"
    }
}

/// The tenant of the current transaction, read once per statement.
/// `nullif`: a reset setting is '' and would fail the uuid cast; unset matches no row.
const CURRENT_TENANT: &str =
    "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

/// Tenant tables and the column that names their dealership.
const TENANT_TABLES: [(&str, &str); 4] = [
    ("dealerships", "id"),
    ("users", "dealership_id"),
    ("sessions", "dealership_id"),
    ("audit_events", "dealership_id"),
];

fn create_roles() -> String {
    format!(
        r#"
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['{RUNTIME_ROLE}', '{PLATFORM_ROLE}', '{DEFINER_ROLE}'] LOOP
        -- checked first: CREATE ROLE needs CREATEROLE even when the role exists, and a DBA may
        -- have made the roles for a migrator that has no such right
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- a concurrent migration of another database created it first
        END;
    END LOOP;
    -- A migrator that is not a superuser may only hand functions to a role it can become,
    -- and that role needs CREATE on the schema. Superusers need neither.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF NOT pg_has_role(current_user, '{DEFINER_ROLE}', 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT {DEFINER_ROLE} TO %I', current_user);
            EXCEPTION WHEN unique_violation THEN
                NULL;
            END;
        END IF;
        GRANT CREATE ON SCHEMA public TO {DEFINER_ROLE};
    END IF;
END
$roles$;
"#
    )
}

fn grants() -> String {
    format!(
        r#"
REVOKE ALL ON dealerships, users, sessions, audit_events FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};
-- tenants edit their own profile; only the platform creates dealerships
GRANT SELECT, UPDATE ON dealerships TO {RUNTIME_ROLE};
GRANT SELECT, INSERT, UPDATE ON users, sessions TO {RUNTIME_ROLE};
GRANT SELECT, INSERT, UPDATE ON dealerships, users, sessions TO {PLATFORM_ROLE};
-- the audit log is append-only for everyone at runtime; soft deletes leave no DELETE grant
GRANT SELECT, INSERT ON audit_events TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT ON dealerships, users, sessions TO {DEFINER_ROLE};
-- /readyz compares applied migrations with the binary's
GRANT SELECT ON seaql_migrations TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn row_level_security(table: &str, column: &str) -> String {
    let definer_lookup = if table == "audit_events" {
        String::new()
    } else {
        format!(
            "CREATE POLICY definer_lookup ON {table} FOR SELECT TO {DEFINER_ROLE} USING (true);"
        )
    };
    format!(
        r#"
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table} TO {RUNTIME_ROLE}
    USING ({column} = {CURRENT_TENANT})
    WITH CHECK ({column} = {CURRENT_TENANT});
CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE}
    USING (true)
    WITH CHECK (true);
{definer_lookup}
"#
    )
}

/// Login and refresh happen before the tenant is known. These return only what is needed to
/// verify the credential and open the right tenant transaction; the rest happens under RLS.
fn lookups() -> String {
    format!(
        r#"
CREATE FUNCTION auth_login_lookup(p_email text)
RETURNS TABLE (user_id uuid, dealership_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.dealership_id, u.password_hash
    FROM public.users u
    WHERE lower(u.email) = lower(p_email) AND u.deleted_at IS NULL
$$;

-- refresh tokens are `<session id>.<secret>`: found by key, verified by hash under RLS
CREATE FUNCTION auth_refresh_lookup(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, dealership_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.dealership_id
    FROM public.sessions s
    WHERE s.id = p_session_id
$$;

ALTER FUNCTION auth_login_lookup(text) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION auth_refresh_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_login_lookup(text), auth_refresh_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_lookup(text), auth_refresh_lookup(uuid)
    TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn up_sql() -> String {
    let mut sql = create_roles();
    sql.push_str(&grants());
    for (table, column) in TENANT_TABLES {
        sql.push_str(&row_level_security(table, column));
    }
    sql.push_str(&lookups());
    sql
}

fn down_sql() -> String {
    let mut sql = String::from(
        "DROP FUNCTION auth_login_lookup(text);\nDROP FUNCTION auth_refresh_lookup(uuid);\n",
    );
    for (table, _) in TENANT_TABLES {
        sql.push_str(&format!(
            "DROP POLICY tenant_isolation ON {table};\n\
             DROP POLICY platform_scope ON {table};\n\
             DROP POLICY IF EXISTS definer_lookup ON {table};\n\
             ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;\n\
             ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;\n\
             REVOKE ALL ON {table} FROM {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};\n"
        ));
    }
    sql.push_str(&format!(
        "REVOKE ALL ON seaql_migrations FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};\n\
         REVOKE ALL ON SCHEMA public FROM {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};\n"
    ));
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, &down_sql()).await
    }
}
