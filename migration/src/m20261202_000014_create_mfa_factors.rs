//! Multi-factor sign-in (issue 13): TOTP factors and single-use recovery codes, the second
//! factor a session proved (`sessions.mfa_at`), and a dealership's own requirement
//! (`dealerships.mfa_required`).
//!
//! Both new tables are **tenant tables** by the checklist of migration 000008: a factor and a
//! recovery code belong to one user of one dealership (admins' rows have no dealership and are
//! written in platform scope). A TOTP secret is stored only sealed (AES-256-GCM under
//! `auth.mfa.encryption_key`, bound to its factor and user), a recovery code only as an HMAC
//! under a key derived from it. Nothing here is updated but what using a factor changes: the
//! last accepted time step (so a code is accepted once) and when a recovery code was used (once
//! ever).

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000014_create_mfa_factors"
    }
}

/// The tenant of the current transaction (see migration 000002).
const CURRENT_TENANT: &str =
    "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE mfa_factors (
    id             uuid PRIMARY KEY,
    dealership_id  uuid REFERENCES dealerships (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    kind           text NOT NULL CHECK (kind = 'totp'),
    -- nonce || AES-256-GCM ciphertext of the secret, the factor and user ids as associated data
    secret_sealed  bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- null while pending: a factor counts once a code from it has been confirmed
    confirmed_at   timestamptz,
    -- the last time step a code was accepted for: only later steps are accepted
    last_used_step bigint NOT NULL DEFAULT 0,
    last_used_at   timestamptz
);
CREATE INDEX mfa_factors_user ON mfa_factors (dealership_id, user_id);

CREATE TABLE mfa_recovery_codes (
    id            uuid PRIMARY KEY,
    dealership_id uuid REFERENCES dealerships (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    code_hash     bytea NOT NULL,             -- HMAC-SHA256 of the user id and normalised code
    created_at    timestamptz NOT NULL DEFAULT now(),
    used_at       timestamptz
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (dealership_id, user_id, code_hash)
    WHERE used_at IS NULL;

REVOKE ALL ON mfa_factors, mfa_recovery_codes FROM PUBLIC;
GRANT SELECT, INSERT, DELETE, UPDATE (confirmed_at, last_used_step, last_used_at)
    ON mfa_factors TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT, INSERT, DELETE, UPDATE (used_at)
    ON mfa_recovery_codes TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

ALTER TABLE mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_factors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_factors TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON mfa_factors TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);

ALTER TABLE mfa_recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mfa_recovery_codes TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON mfa_recovery_codes TO {PLATFORM_ROLE}
    USING (true) WITH CHECK (true);

-- when this session last proved a second factor (sign-in, step-up, enrolment); null: password only
ALTER TABLE sessions ADD COLUMN mfa_at timestamptz;
GRANT UPDATE (mfa_at) ON sessions TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

ALTER TABLE dealerships ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;
GRANT UPDATE (mfa_required) ON dealerships TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = r#"
ALTER TABLE dealerships DROP COLUMN mfa_required;
ALTER TABLE sessions DROP COLUMN mfa_at;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_factors;
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
