//! The tenant tables: dealerships (the tenants), users, sessions and the audit log.
//!
//! Every tenant-owned table carries `dealership_id` and an index that leads with it, so RLS
//! filters and a future Citus distribution key cost nothing extra. `NULL` means platform scope
//! (system admins and their sessions and events).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_create_tenant_tables"
    }
}

const UP: &str = r#"
CREATE TABLE dealerships (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    address       text,
    contact_email text,
    contact_phone text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
-- a deleted dealership frees its name
CREATE UNIQUE INDEX dealerships_name_key ON dealerships (lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dealership_id uuid REFERENCES dealerships (id),
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    phone         text,
    role          text NOT NULL CHECK (role IN ('admin', 'principal', 'manager', 'agent')),
    is_active     boolean NOT NULL DEFAULT true,
    -- bumped on role change, deactivation, deletion and password change: outstanding access
    -- tokens carry the old value and stop working at once
    token_version integer NOT NULL DEFAULT 0,
    last_login    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    -- admins are platform users; everyone else belongs to exactly one dealership
    CONSTRAINT users_admin_has_no_dealership CHECK ((role = 'admin') = (dealership_id IS NULL))
);
-- case-insensitive and only among live users: a soft-deleted user's email is free again
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_dealership_idx ON users (dealership_id, created_at DESC);

CREATE TABLE sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dealership_id       uuid REFERENCES dealerships (id),
    user_id             uuid NOT NULL REFERENCES users (id),
    -- SHA-256 of the current refresh token, and of the one it replaced (grace window);
    -- tokens carry the session id, so rows are found by key, never by a global hash index
    refresh_token_hash  bytea NOT NULL,
    previous_token_hash bytea,
    rotated_at          timestamptz,
    rotation_count      integer NOT NULL DEFAULT 0,
    user_agent          text,
    ip                  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz NOT NULL DEFAULT now(),
    -- sliding idle expiry, and the hard end of the session however often it is refreshed
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    revoked_at          timestamptz,
    revoked_reason      text
);
CREATE INDEX sessions_dealership_user_idx ON sessions (dealership_id, user_id, created_at DESC);

CREATE TABLE audit_events (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    at            timestamptz NOT NULL DEFAULT now(),
    dealership_id uuid REFERENCES dealerships (id),
    actor_id      uuid,
    action        text NOT NULL,
    target_type   text NOT NULL,
    target_id     uuid,
    request_id    text,
    ip            text,
    changes       jsonb
);
CREATE INDEX audit_events_dealership_at_idx ON audit_events (dealership_id, at DESC);
"#;

const DOWN: &str = r#"
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE dealerships;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute(manager, DOWN).await
    }
}
