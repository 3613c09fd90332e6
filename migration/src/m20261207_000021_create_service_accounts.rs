//! Service accounts (issue 26): machine identities of one dealership, of a dealer group, or of
//! the platform (admins), and their API keys.
//!
//! An account is a tenant row isolated as memberships are: a dealership's under
//! `app.dealership_ids`, a group's (`dealership_id` NULL, `group_id` set) under `app.group_id`,
//! a platform one (both NULL) only in platform scope. Its keys carry the same two columns, so
//! the same policies confine them. A key is `dg_<key id>_<secret>`: the secret is 256 random
//! bits stored as its SHA-256 (no argon2: nothing to stretch), valid until `expires_at` (at most
//! a year; a rotation moves the old key's expiry to the end of the overlap).
//!
//! Authentication happens before any tenant is known: `service_account_key` looks a key up by
//! its id (the hash, the account and whether both are live) and `service_account_key_used`
//! records its last use at most once a minute, both narrow `SECURITY DEFINER` functions as
//! `auth_refresh_lookup` and `oauth_client` are.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000021_create_service_accounts"
    }
}

/// The dealerships of the current transaction (migration 000019's expression).
const TENANT_SET: &str =
    "((select nullif(current_setting('app.dealership_ids', true), '')::uuid[])::uuid[])";
const TENANT_GROUP: &str = "(select nullif(current_setting('app.group_id', true), '')::uuid)";

const TABLES: [&str; 2] = ["service_accounts", "service_account_keys"];

fn policies() -> String {
    TABLES
        .iter()
        .map(|table| {
            let dealership = format!("dealership_id = ANY {TENANT_SET}");
            let group = format!("dealership_id IS NULL AND group_id = {TENANT_GROUP}");
            format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n\
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n\
                 CREATE POLICY tenant_isolation ON {table} TO {RUNTIME_ROLE}\n    \
                 USING ({dealership}) WITH CHECK ({dealership});\n\
                 CREATE POLICY group_rows ON {table} TO {RUNTIME_ROLE}\n    \
                 USING ({group}) WITH CHECK ({group});\n\
                 CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE} \
                 USING (true) WITH CHECK (true);\n\
                 CREATE POLICY definer_lookup ON {table} TO {DEFINER_ROLE} \
                 USING (true) WITH CHECK (true);\n"
            )
        })
        .collect()
}

const FUNCTIONS: [&str; 2] = [
    "service_account_key(uuid)",
    "service_account_key_used(uuid, text)",
];

fn up_sql() -> String {
    let grants: String = FUNCTIONS
        .iter()
        .map(|function| {
            format!(
                "ALTER FUNCTION {function} OWNER TO {DEFINER_ROLE};\n\
                 REVOKE ALL ON FUNCTION {function} FROM PUBLIC;\n\
                 GRANT EXECUTE ON FUNCTION {function} TO {RUNTIME_ROLE}, {PLATFORM_ROLE};\n"
            )
        })
        .collect();
    format!(
        r#"
CREATE TABLE service_accounts (
    id             uuid PRIMARY KEY,
    dealership_id  uuid REFERENCES dealerships (id),
    group_id       uuid REFERENCES dealer_groups (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role           text NOT NULL CHECK (role IN ('admin', 'group_principal', 'principal',
                                                 'group_manager', 'manager', 'agent')),
    custom_role_id uuid,
    -- the membership that made it (a person acting in a dealership, a group or the platform)
    created_by     uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- ended by a person: never used again
    revoked_at     timestamptz,
    -- stopped by the maintenance (dormant), with its reason
    disabled_at    timestamptz,
    disabled_reason text,
    -- the latest use of any of its keys or tokens (at most a minute old), for the maintenance
    last_used_at   timestamptz,
    CONSTRAINT service_accounts_one_tenant CHECK (dealership_id IS NULL OR group_id IS NULL),
    CONSTRAINT service_accounts_admin_is_platform
        CHECK ((role = 'admin') = (dealership_id IS NULL AND group_id IS NULL)),
    CONSTRAINT service_accounts_group_role_in_group
        CHECK ((role IN ('group_principal', 'group_manager')) = (group_id IS NOT NULL)),
    CONSTRAINT service_accounts_custom_role_fkey
        FOREIGN KEY (custom_role_id, dealership_id) REFERENCES custom_roles (id, dealership_id)
        ON DELETE SET NULL (custom_role_id)
);
CREATE INDEX service_accounts_dealership ON service_accounts (dealership_id, created_at, id);
CREATE INDEX service_accounts_group ON service_accounts (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX service_accounts_custom_role ON service_accounts (custom_role_id)
    WHERE custom_role_id IS NOT NULL;

CREATE TABLE service_account_keys (
    id                 uuid PRIMARY KEY,
    service_account_id uuid NOT NULL REFERENCES service_accounts (id),
    dealership_id      uuid REFERENCES dealerships (id),
    group_id           uuid REFERENCES dealer_groups (id),
    secret_hash        bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL
                       CHECK (expires_at <= created_at + interval '366 days'),
    revoked_at         timestamptz,
    last_used_at       timestamptz,
    last_used_ip       text
);
CREATE INDEX service_account_keys_account
    ON service_account_keys (dealership_id, service_account_id);
CREATE INDEX service_account_keys_of ON service_account_keys (service_account_id);

REVOKE ALL ON service_accounts, service_account_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE (revoked_at) ON service_accounts TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT UPDATE (disabled_at, disabled_reason) ON service_accounts TO {PLATFORM_ROLE};
GRANT SELECT, INSERT, UPDATE (expires_at, revoked_at)
    ON service_account_keys TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT, UPDATE (last_used_at) ON service_accounts TO {DEFINER_ROLE};
GRANT SELECT, UPDATE (last_used_at, last_used_ip) ON service_account_keys TO {DEFINER_ROLE};
{policies}
-- a key by its id, before any tenant is known: its hash, its account, whether both are live
-- (neither revoked nor disabled, the key not expired, the dealership active)
CREATE FUNCTION service_account_key(p_key uuid)
RETURNS TABLE (key_id uuid, service_account_id uuid, dealership_id uuid, group_id uuid,
               role text, custom_role_id uuid, created_by uuid, secret_hash bytea,
               expires_at timestamptz, live boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.id, a.id, a.dealership_id, a.group_id, a.role, a.custom_role_id, a.created_by,
           k.secret_hash, k.expires_at,
           k.revoked_at IS NULL AND a.revoked_at IS NULL AND a.disabled_at IS NULL
           AND coalesce((SELECT d.is_active AND d.deleted_at IS NULL
                         FROM public.dealerships d WHERE d.id = a.dealership_id), true)
    FROM public.service_account_keys k
    JOIN public.service_accounts a ON a.id = k.service_account_id
    WHERE k.id = p_key
$$;

-- the key's last use and address, and its account's, written at most once a minute
CREATE FUNCTION service_account_key_used(p_key uuid, p_ip text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH used AS (
        UPDATE public.service_account_keys k SET last_used_at = now(), last_used_ip = p_ip
        WHERE k.id = p_key
          AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
        RETURNING k.service_account_id
    )
    UPDATE public.service_accounts a SET last_used_at = now()
    FROM used WHERE a.id = used.service_account_id
      AND (a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute')
$$;
{grants}"#,
        policies = policies(),
    )
}

const DOWN_SQL: &str = r#"
DROP FUNCTION service_account_key_used(uuid, text);
DROP FUNCTION service_account_key(uuid);
DROP TABLE service_account_keys;
DROP TABLE service_accounts;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, DOWN_SQL).await
    }
}
