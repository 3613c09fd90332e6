//! Invitations (issue 12): a dealership's principal, or an admin, invites someone by email into
//! one dealership with one role; the mailed link's token signs them up once.
//!
//! A **tenant table** by the checklist of migration 000008: `dealership_id` (none for an
//! invitation to become a platform admin, written in platform scope), an index leading with it,
//! RLS enabled and forced, a tenant policy and a platform policy. The token is
//! `<token_id>.<secret>` like the other mailed tokens; a resend gives the row a new `token_id`
//! and hash, so the old link finds nothing. Signing up starts before any tenant is known, so one
//! narrow `SECURITY DEFINER` lookup finds an invitation's id and dealership by its token id; the
//! secret and the state are then checked under RLS.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000012_create_invitations"
    }
}

/// The tenant of the current transaction (see migration 000002).
const CURRENT_TENANT: &str =
    "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

const INSERT: &str = "id, dealership_id, email, role, first_name, last_name, invited_by, \
                      token_id, token_hash, created_at, updated_at, expires_at";
const UPDATE: &str =
    "token_id, token_hash, updated_at, expires_at, accepted_at, accepted_user_id, revoked_at";

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE invitations (
    id               uuid PRIMARY KEY,
    dealership_id    uuid REFERENCES dealerships (id),
    email            text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'principal', 'manager', 'agent')),
    first_name       text,
    last_name        text,
    invited_by       uuid REFERENCES users (id),
    token_id         uuid NOT NULL UNIQUE,
    token_hash       bytea NOT NULL,           -- SHA-256 of the 256-bit secret
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    accepted_user_id uuid REFERENCES users (id),
    revoked_at       timestamptz,
    CONSTRAINT invitations_admin_has_no_dealership CHECK ((role = 'admin') = (dealership_id IS NULL))
);
CREATE INDEX invitations_dealership ON invitations (dealership_id, created_at DESC, id DESC);

REVOKE ALL ON invitations FROM PUBLIC;
GRANT SELECT, INSERT ({INSERT}), UPDATE ({UPDATE}) ON invitations TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT ON invitations TO {DEFINER_ROLE};

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON invitations TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);
CREATE POLICY definer_lookup ON invitations FOR SELECT TO {DEFINER_ROLE} USING (true);

-- a presented invitation's row and dealership, before any tenant is known
CREATE FUNCTION auth_invitation_lookup(p_token_id uuid)
RETURNS TABLE (invitation_id uuid, dealership_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.id, i.dealership_id
    FROM public.invitations i
    WHERE i.token_id = p_token_id
$$;
ALTER FUNCTION auth_invitation_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_invitation_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_invitation_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = r#"
DROP FUNCTION auth_invitation_lookup(uuid);
DROP TABLE invitations;
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
