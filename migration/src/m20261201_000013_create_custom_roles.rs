//! Custom roles (issue 12): a dealership's own named roles, each a base role (`manager` or
//! `agent`, whose rank it has) plus a set of `resource:action:scope` permissions. The server
//! merges them into its Casbin enforcer next to the file policy.
//!
//! A **tenant table** by the checklist of migration 000008. Users and invitations name a custom
//! role by id, always one of their own dealership: the foreign keys include `dealership_id`, so
//! the database itself refuses another dealership's role. A role still held by a user cannot be
//! deleted (the service says how many hold it first; a deleted user lets go of it); an
//! invitation that is no longer pending lets go of a deleted role. Every committed change tells
//! every replica on the policy channel, whoever made it (a service or an operator in `psql`).

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000013_create_custom_roles"
    }
}

/// The tenant of the current transaction (see migration 000002).
const CURRENT_TENANT: &str =
    "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE custom_roles (
    id            uuid PRIMARY KEY,
    dealership_id uuid NOT NULL REFERENCES dealerships (id),
    name          text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{{1,39}}$'
                                       AND name NOT IN ('admin', 'principal', 'manager', 'agent')),
    base_role     text NOT NULL CHECK (base_role IN ('manager', 'agent')),
    -- `resource:action:scope`, checked by the server against the names it knows
    permissions   text[] NOT NULL DEFAULT '{{}}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT custom_roles_name_key UNIQUE (dealership_id, name),
    -- the target of the (role, dealership) foreign keys below
    CONSTRAINT custom_roles_id_dealership_key UNIQUE (id, dealership_id)
);

REVOKE ALL ON custom_roles FROM PUBLIC;
GRANT SELECT, INSERT, DELETE, UPDATE (name, permissions, updated_at)
    ON custom_roles TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

ALTER TABLE custom_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_roles TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON custom_roles TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);

ALTER TABLE users ADD COLUMN custom_role_id uuid;
ALTER TABLE users ADD CONSTRAINT users_custom_role_fkey
    FOREIGN KEY (custom_role_id, dealership_id) REFERENCES custom_roles (id, dealership_id);
CREATE INDEX users_custom_role ON users (custom_role_id) WHERE custom_role_id IS NOT NULL;
GRANT UPDATE (custom_role_id) ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

ALTER TABLE invitations ADD COLUMN custom_role_id uuid;
ALTER TABLE invitations ADD CONSTRAINT invitations_custom_role_fkey
    FOREIGN KEY (custom_role_id, dealership_id) REFERENCES custom_roles (id, dealership_id)
    ON DELETE SET NULL (custom_role_id);
CREATE INDEX invitations_custom_role ON invitations (custom_role_id)
    WHERE custom_role_id IS NOT NULL;
GRANT INSERT (custom_role_id) ON invitations TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

-- SECURITY INVOKER, like the users trigger of migration 000006: only `pg_notify` is needed
CREATE FUNCTION custom_roles_notify_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the channel of `authz::reload::CHANNEL`, the payload of `authz::reload::ROLES`
    PERFORM pg_notify('dealergate_policies', 'custom_roles');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION custom_roles_notify_change() FROM PUBLIC;
CREATE TRIGGER custom_roles_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON custom_roles
    FOR EACH STATEMENT EXECUTE FUNCTION custom_roles_notify_change();
"#
    )
}

const DOWN: &str = r#"
DROP TRIGGER custom_roles_notify_change ON custom_roles;
DROP FUNCTION custom_roles_notify_change();
ALTER TABLE invitations DROP COLUMN custom_role_id;
ALTER TABLE users DROP COLUMN custom_role_id;
DROP TABLE custom_roles;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, DOWN).await
    }
}
