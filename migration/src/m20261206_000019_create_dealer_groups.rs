//! Dealer groups (issue 23): dealerships may belong to one group, and a person may hold
//! `group_principal` or `group_manager` in a group — a **group membership**: a `memberships` row
//! with the group and no dealership, so sessions, audit events, last sign-in and the session
//! check treat it as any other membership.
//!
//! Tenant rows are now matched against a **set** of dealerships, `app.dealership_ids` (one id
//! for a dealership's transaction, every live dealership of the group for a group's), read once
//! per statement. A group's set is computed in the statement that opens the transaction
//! (`group_dealerships`), so a dealership moved into or out of a group is in or out of the
//! group's reach from the next transaction on, on every replica, with nothing to invalidate.
//! Rows of the group membership itself (the membership, its sessions, the audit events of its
//! own account) carry `group_id` and are matched against `app.group_id`.
//!
//! The person functions of migration 000018 count the set and the group: a person is in a
//! group's scope through a membership in any of its dealerships or in the group, and the
//! credential rule ranks group memberships too.
//!
//! Down refuses while any group exists.

use sea_orm_migration::prelude::*;

use crate::{
    DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute,
    m20261206_000018_split_people_from_memberships::{PERSON_FUNCTIONS, lookup},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000019_create_dealer_groups"
    }
}

/// The dealerships of the current transaction, read once per statement (an init plan); the
/// outer cast makes `= ANY` read an array, not a subquery. Unset: no row.
const TENANT_SET: &str =
    "((select nullif(current_setting('app.dealership_ids', true), '')::uuid[])::uuid[])";
/// The group of a group's transaction; unset otherwise.
const TENANT_GROUP: &str = "(select nullif(current_setting('app.group_id', true), '')::uuid)";
/// The single tenant of migration 000002, for down.
const OLD_TENANT: &str = "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

/// Tenant tables and the column naming their dealership (their `tenant_isolation` policy).
const TENANT_TABLES: [(&str, &str); 8] = [
    ("dealerships", "id"),
    ("memberships", "dealership_id"),
    ("sessions", "dealership_id"),
    ("audit_events", "dealership_id"),
    ("mail_outbox", "dealership_id"),
    ("account_tokens", "dealership_id"),
    ("invitations", "dealership_id"),
    ("custom_roles", "dealership_id"),
];

/// Rows of a group membership (no dealership), matched against the group: which commands.
const GROUP_ROWS: [(&str, &str); 6] = [
    ("memberships", "SELECT"),
    ("memberships", "UPDATE"),
    ("sessions", "ALL"),
    ("audit_events", "ALL"),
    ("account_tokens", "ALL"),
    ("mail_outbox", "ALL"),
];

/// The tables whose rows take the group of the transaction that writes them.
const GROUP_STAMPED: [&str; 4] = ["sessions", "audit_events", "account_tokens", "mail_outbox"];

fn tenant_policies(tenant: impl Fn(&str) -> String) -> String {
    TENANT_TABLES
        .iter()
        .map(|(table, column)| {
            let matches = tenant(column);
            format!(
                "DROP POLICY tenant_isolation ON {table};\n\
                 CREATE POLICY tenant_isolation ON {table} TO {RUNTIME_ROLE}\n    \
                 USING ({matches}) WITH CHECK ({matches});\n"
            )
        })
        .collect()
}

fn group_policies() -> String {
    GROUP_ROWS
        .iter()
        .map(|(table, command)| {
            let name = format!("group_rows_{}", command.to_lowercase());
            let matches = format!("dealership_id IS NULL AND group_id = {TENANT_GROUP}");
            let check = if *command == "SELECT" {
                String::new()
            } else {
                format!(" WITH CHECK ({matches})")
            };
            format!(
                "CREATE POLICY {name} ON {table} FOR {command} TO {RUNTIME_ROLE}\n    \
                 USING ({matches}){check};\n"
            )
        })
        .collect()
}

/// Which rank a stored role has (src/domain/role.rs says the same).
const RANK: &str = "CASE m.role WHEN 'admin' THEN 6 WHEN 'group_principal' THEN 5 \
                    WHEN 'principal' THEN 4 WHEN 'group_manager' THEN 3 WHEN 'manager' THEN 2 \
                    ELSE 1 END";

/// The person functions of migration 000018 that read the scope, reading the set and the
/// group instead of the one dealership.
fn person_functions() -> String {
    format!(
        r#"
CREATE OR REPLACE FUNCTION person_in_scope(p_person uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN {TENANT_SET} IS NULL
                THEN current_setting('role') = '{PLATFORM_ROLE}'
                ELSE EXISTS (SELECT 1 FROM public.memberships m
                             WHERE m.person_id = p_person AND m.deleted_at IS NULL
                               AND (m.dealership_id = ANY {TENANT_SET}
                                    OR m.group_id = {TENANT_GROUP}))
           END
$$;

-- may a caller of rank p_rank, in the asking scope, change this person's credentials? Only
-- if every membership and group membership of the person that is not deleted (active or not)
-- is in that scope and ranks below p_rank. Yes or no, never which one says no.
CREATE OR REPLACE FUNCTION person_managed_by(p_person uuid, p_rank integer)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT public.person_in_scope(p_person) AND NOT EXISTS (
        SELECT 1 FROM public.memberships m
        WHERE m.person_id = p_person AND m.deleted_at IS NULL
          AND (({TENANT_SET} IS NOT NULL
                AND NOT coalesce(m.dealership_id = ANY {TENANT_SET}
                                 OR m.group_id = {TENANT_GROUP}, false))
               OR {RANK} >= p_rank))
$$;

-- the live dealerships of a group: the set a group's transaction runs with
CREATE FUNCTION group_dealerships(p_group uuid)
RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(d.id ORDER BY d.id), '{{}}')
    FROM public.dealerships d
    WHERE d.group_id = p_group AND d.is_active AND d.deleted_at IS NULL
$$;
ALTER FUNCTION group_dealerships(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION group_dealerships(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION group_dealerships(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

/// The sign-in lookups and the person's own list, with the group of a group membership.
fn group_aware_lookups() -> String {
    let lookups = [
        ("auth_login_lookup", "lower(p.email) = lower(p_name)"),
        ("auth_phone_login_lookup", "p.phone = p_name"),
    ]
    .map(|(name, matches)| {
        format!(
            r#"
DROP FUNCTION {name}(text);
CREATE FUNCTION {name}(p_name text)
RETURNS TABLE (person_id uuid, email text, password_hash text, user_id uuid,
               dealership_id uuid, dealership_name text, role text, custom_role_id uuid,
               last_login timestamptz, group_id uuid, group_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, p.email, p.password_hash, m.id, m.dealership_id, m.dealership_name, m.role,
           m.custom_role_id, m.last_login, m.group_id, m.group_name
    FROM public.people p
    LEFT JOIN LATERAL (
        SELECT m.id, m.dealership_id, d.name AS dealership_name, m.role, m.custom_role_id,
               m.last_login, m.group_id, g.name AS group_name
        FROM public.memberships m
        LEFT JOIN public.dealerships d ON d.id = m.dealership_id
        LEFT JOIN public.dealer_groups g ON g.id = m.group_id
        WHERE m.person_id = p.id AND m.deleted_at IS NULL AND m.is_active
          AND (m.dealership_id IS NULL OR (d.is_active AND d.deleted_at IS NULL))
    ) m ON true
    WHERE {matches} AND p.deleted_at IS NULL
    ORDER BY m.last_login DESC NULLS LAST, m.id
$$;
ALTER FUNCTION {name}(text) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {name}(text) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
        )
    })
    .concat();
    format!(
        r#"{lookups}
DROP FUNCTION person_memberships(uuid);
CREATE FUNCTION person_memberships(p_person uuid)
RETURNS TABLE (user_id uuid, dealership_id uuid, dealership_name text, role text,
               custom_role_id uuid, last_login timestamptz, group_id uuid, group_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.id, m.dealership_id, d.name, m.role, m.custom_role_id, m.last_login, m.group_id,
           g.name
    FROM public.memberships m
    LEFT JOIN public.dealerships d ON d.id = m.dealership_id
    LEFT JOIN public.dealer_groups g ON g.id = m.group_id
    WHERE m.person_id = p_person AND m.deleted_at IS NULL AND m.is_active
      AND (m.dealership_id IS NULL OR (d.is_active AND d.deleted_at IS NULL))
      AND public.person_in_scope(p_person)
    ORDER BY coalesce(g.name, d.name) NULLS FIRST, m.group_id NULLS LAST, m.id
$$;
ALTER FUNCTION person_memberships(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION person_memberships(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_memberships(uuid)
    TO {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};

DROP FUNCTION auth_token_lookup(uuid);
CREATE FUNCTION auth_token_lookup(p_token_id uuid)
RETURNS TABLE (token_id uuid, user_id uuid, dealership_id uuid, group_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, t.user_id, t.dealership_id, m.group_id
    FROM public.account_tokens t LEFT JOIN public.memberships m ON m.id = t.user_id
    WHERE t.id = p_token_id
$$;
ALTER FUNCTION auth_token_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_token_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_token_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

DROP FUNCTION auth_refresh_lookup(uuid);
CREATE FUNCTION auth_refresh_lookup(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, dealership_id uuid, group_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.dealership_id, m.group_id
    FROM public.sessions s LEFT JOIN public.memberships m ON m.id = s.user_id
    WHERE s.id = p_session_id
$$;
ALTER FUNCTION auth_refresh_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_refresh_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_refresh_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn up_sql() -> String {
    let set_policies = tenant_policies(|column| format!("{column} = ANY {TENANT_SET}"));
    let group_policies = group_policies();
    let functions = person_functions();
    let lookups = group_aware_lookups();
    let stamped: String = GROUP_STAMPED
        .iter()
        .map(|table| {
            format!(
                "ALTER TABLE {table} ADD COLUMN group_id uuid\n    \
                 DEFAULT nullif(current_setting('app.group_id', true), '')::uuid;\n"
            )
        })
        .collect();
    format!(
        r#"
CREATE TABLE dealer_groups (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dealer_groups_name_key ON dealer_groups (lower(name));
REVOKE ALL ON dealer_groups FROM PUBLIC;
-- platform rows: admins manage them; a group's members read its name through the lookups
GRANT SELECT, INSERT, UPDATE, DELETE ON dealer_groups TO {PLATFORM_ROLE};
GRANT SELECT ON dealer_groups TO {DEFINER_ROLE};
ALTER TABLE dealer_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE dealer_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_scope ON dealer_groups TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);
CREATE POLICY definer_lookup ON dealer_groups FOR SELECT TO {DEFINER_ROLE} USING (true);

-- a dealership belongs to at most one group; only the platform moves it
ALTER TABLE dealerships ADD COLUMN group_id uuid REFERENCES dealer_groups (id);
GRANT UPDATE (group_id) ON dealerships TO {PLATFORM_ROLE};
CREATE INDEX dealerships_group ON dealerships (group_id) WHERE group_id IS NOT NULL;

-- a group membership: a membership of the group, in no dealership (an ended one loses its
-- group when the group is deleted)
ALTER TABLE memberships ADD COLUMN group_id uuid REFERENCES dealer_groups (id) ON DELETE SET NULL;
ALTER TABLE memberships DROP CONSTRAINT users_role_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_role_check CHECK (role IN
    ('admin', 'group_principal', 'principal', 'group_manager', 'manager', 'agent'));
ALTER TABLE memberships DROP CONSTRAINT memberships_admin_has_no_dealership;
ALTER TABLE memberships ADD CONSTRAINT memberships_seat CHECK (CASE
    WHEN role = 'admin' THEN dealership_id IS NULL AND group_id IS NULL
    WHEN role IN ('group_principal', 'group_manager')
        THEN dealership_id IS NULL AND (group_id IS NOT NULL OR deleted_at IS NOT NULL)
    ELSE dealership_id IS NOT NULL AND group_id IS NULL END);
DROP INDEX memberships_person_dealership_key;
CREATE UNIQUE INDEX memberships_person_dealership_key
    ON memberships (person_id, dealership_id, group_id) NULLS NOT DISTINCT
    WHERE deleted_at IS NULL;
CREATE INDEX memberships_group ON memberships (group_id, created_at, id)
    WHERE group_id IS NOT NULL;
-- the runtime role's policy on memberships now reads group_id too (a group membership's own
-- row): without it in the directory index, counting a dealership's staff reads the table
-- (bench/RESULTS.md, "Issue 23": 10,142 buffers instead of 143 on 1,000,000 people)
DROP INDEX memberships_directory_idx;
CREATE INDEX memberships_directory_idx ON memberships (dealership_id, created_at DESC, id DESC)
    INCLUDE (group_id) WHERE deleted_at IS NULL;

-- rows of a group membership name the group: written in the group's transaction, they take
-- it from there
{stamped}CREATE INDEX audit_events_group ON audit_events (group_id, at DESC)
    WHERE group_id IS NOT NULL AND dealership_id IS NULL;

{set_policies}
{group_policies}
-- a group's own transaction updates its members' rows for their last sign-in only, and only to
-- now: who holds a group role, and whether, is the platform's to change (a compromised
-- application in a group's transaction cannot promote its group manager, nor pick which
-- membership a person signs in to by default with a sign-in time in the future)
CREATE FUNCTION memberships_guard_group_seats()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.group_id IS NOT NULL AND current_user = '{RUNTIME_ROLE}'
       AND ((NEW.role, NEW.is_active, NEW.deleted_at, NEW.group_id, NEW.person_id,
             NEW.dealership_id, NEW.custom_role_id)
            IS DISTINCT FROM (OLD.role, OLD.is_active, OLD.deleted_at, OLD.group_id,
                              OLD.person_id, OLD.dealership_id, OLD.custom_role_id)
            OR (NEW.last_login IS DISTINCT FROM OLD.last_login
                AND NEW.last_login IS DISTINCT FROM now())) THEN
        RAISE EXCEPTION 'permission denied: a group membership changes in platform scope only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION memberships_guard_group_seats() FROM PUBLIC;
CREATE TRIGGER memberships_guard_group_seats BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_guard_group_seats();
-- the API's `User` shows the group of a group membership
CREATE OR REPLACE VIEW users WITH (security_invoker = true) AS
SELECT m.id, m.dealership_id, m.person_id, p.email, p.password_hash, p.first_name, p.last_name,
       p.phone, m.role, m.custom_role_id, m.is_active, p.token_version, m.last_login,
       p.email_verified_at, m.created_at, greatest(m.updated_at, p.updated_at) AS updated_at,
       m.deleted_at, m.added_by, d.name AS dealership_name, m.group_id
FROM memberships m JOIN people p ON p.id = m.person_id
LEFT JOIN dealerships d ON d.id = m.dealership_id;

{functions}
{lookups}
"#
    )
}

fn down_sql() -> String {
    let old_policies = tenant_policies(|column| format!("{column} = {OLD_TENANT}"));
    let drop_group_policies: String = GROUP_ROWS
        .iter()
        .map(|(table, command)| {
            format!(
                "DROP POLICY group_rows_{} ON {table};\n",
                command.to_lowercase()
            )
        })
        .collect();
    let old_functions = PERSON_FUNCTIONS.replace("{PLATFORM_ROLE}", PLATFORM_ROLE);
    // only the functions that changed signature or body go back
    let old_functions = old_functions
        .split("\nCREATE FUNCTION ")
        .filter(|f| {
            [
                "person_in_scope(",
                "person_memberships(",
                "person_managed_by(",
                "membership_may_be_added(",
            ]
            .iter()
            .any(|name| f.starts_with(name))
        })
        .map(|f| format!("\nCREATE OR REPLACE FUNCTION {f}"))
        .collect::<String>();
    let email_lookup = lookup("auth_login_lookup", "lower(p.email) = lower(p_name)");
    let phone_lookup = lookup("auth_phone_login_lookup", "p.phone = p_name");
    let unstamped: String = GROUP_STAMPED
        .iter()
        .map(|table| format!("ALTER TABLE {table} DROP COLUMN group_id;\n"))
        .collect();
    format!(
        r#"
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM dealer_groups)
       OR EXISTS (SELECT 1 FROM memberships WHERE role IN ('group_principal', 'group_manager'))
    THEN
        RAISE EXCEPTION 'dealer groups or group memberships (ended ones too) exist';
    END IF;
END
$$;
DROP FUNCTION group_dealerships(uuid);
DROP TRIGGER memberships_guard_group_seats ON memberships;
DROP FUNCTION memberships_guard_group_seats();
DROP FUNCTION auth_login_lookup(text);
DROP FUNCTION auth_phone_login_lookup(text);
DROP FUNCTION person_memberships(uuid);
DROP FUNCTION auth_refresh_lookup(uuid);
DROP FUNCTION auth_token_lookup(uuid);
CREATE FUNCTION auth_token_lookup(p_token_id uuid)
RETURNS TABLE (token_id uuid, user_id uuid, dealership_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, t.user_id, t.dealership_id FROM public.account_tokens t WHERE t.id = p_token_id
$$;
ALTER FUNCTION auth_token_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_token_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_token_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
{email_lookup}
{phone_lookup}
{old_functions}
ALTER FUNCTION person_memberships(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION person_memberships(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION person_memberships(uuid)
    TO {RUNTIME_ROLE}, {PLATFORM_ROLE}, {DEFINER_ROLE};
CREATE FUNCTION auth_refresh_lookup(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, dealership_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.user_id, s.dealership_id FROM public.sessions s WHERE s.id = p_session_id
$$;
ALTER FUNCTION auth_refresh_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_refresh_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_refresh_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
{drop_group_policies}
{old_policies}
-- a view loses a column only by being made again (its trigger with it)
DROP VIEW users;
CREATE VIEW users WITH (security_invoker = true) AS
SELECT m.id, m.dealership_id, m.person_id, p.email, p.password_hash, p.first_name, p.last_name,
       p.phone, m.role, m.custom_role_id, m.is_active, p.token_version, m.last_login,
       p.email_verified_at, m.created_at, greatest(m.updated_at, p.updated_at) AS updated_at,
       m.deleted_at, m.added_by, d.name AS dealership_name
FROM memberships m JOIN people p ON p.id = m.person_id
LEFT JOIN dealerships d ON d.id = m.dealership_id;
REVOKE ALL ON users FROM PUBLIC;
GRANT SELECT ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
CREATE TRIGGER users_write INSTEAD OF INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_write();
DROP INDEX audit_events_group;
{unstamped}DROP INDEX memberships_group;
DROP INDEX memberships_directory_idx;
CREATE INDEX memberships_directory_idx ON memberships (dealership_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
DROP INDEX memberships_person_dealership_key;
CREATE UNIQUE INDEX memberships_person_dealership_key ON memberships (person_id, dealership_id)
    NULLS NOT DISTINCT WHERE deleted_at IS NULL;
ALTER TABLE memberships DROP CONSTRAINT memberships_seat;
ALTER TABLE memberships ADD CONSTRAINT memberships_admin_has_no_dealership
    CHECK ((role = 'admin') = (dealership_id IS NULL));
ALTER TABLE memberships DROP CONSTRAINT memberships_role_check;
ALTER TABLE memberships ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'principal', 'manager', 'agent'));
ALTER TABLE memberships DROP COLUMN group_id;
DROP INDEX dealerships_group;
ALTER TABLE dealerships DROP COLUMN group_id;
DROP TABLE dealer_groups;
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
