//! The mail outbox, the single-use tokens that mail carries (password reset and email
//! verification; email change and invitations later, by `purpose`), and `users.email_verified_at`.
//!
//! Both are **tenant tables**, not platform tables: a message holds a dealership's staff
//! address and a link that signs into their account, and a token belongs to one of its users,
//! so they follow the tenant-table checklist (`dealership_id`, an index leading with it, RLS
//! enabled and forced, a tenant policy and a platform policy). Rows of platform admins have no
//! dealership and are written in platform scope. The runtime role may only *add* messages
//! (column grants, no SELECT): a tenant request can queue mail but never read or change the
//! queue. The sender on every replica works in platform scope, which sees every tenant's
//! messages explicitly. Confirming a token starts before any tenant is known, so one narrow
//! `SECURITY DEFINER` lookup finds a token's user and dealership by its id (the token is
//! `<id>.<secret>`, like refresh tokens); the secret is then checked under RLS.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000008_create_mail_outbox"
    }
}

/// The tenant of the current transaction (see migration 000002).
const CURRENT_TENANT: &str =
    "(select nullif(current_setting('app.dealership_id', true), '')::uuid)";

const OUTBOX_INSERT: &str =
    "id, dealership_id, kind, recipient, subject, text_body, html_body, link, created_at, due_at";
const OUTBOX_SENDER: &str =
    "text_body, html_body, link, due_at, attempts, sent_at, failed_at, last_error";
const TOKEN_INSERT: &str = "id, dealership_id, user_id, purpose, token_hash, bound_to, \
                            created_at, expires_at";

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE mail_outbox (
    id            uuid PRIMARY KEY,
    dealership_id uuid REFERENCES dealerships (id),
    kind          text NOT NULL,            -- password_reset, password_changed, …
    recipient     text NOT NULL,
    subject       text NOT NULL,
    -- the bodies and the link carry a live token: cleared once the message is sent
    text_body     text,
    html_body     text,
    link          text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    due_at        timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    sent_at       timestamptz,
    failed_at     timestamptz,               -- gave up after the last attempt
    last_error    text
);
CREATE INDEX mail_outbox_dealership ON mail_outbox (dealership_id, created_at);
-- what the sender claims: the due messages still pending
CREATE INDEX mail_outbox_pending ON mail_outbox (due_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE account_tokens (
    id             uuid PRIMARY KEY,
    dealership_id  uuid REFERENCES dealerships (id),
    user_id        uuid NOT NULL REFERENCES users (id),
    purpose        text NOT NULL,            -- password_reset, email_verification
    token_hash     bytea NOT NULL,           -- SHA-256 of the 256-bit secret
    -- SHA-256 of what the token is bound to: the password hash a reset replaces (any password
    -- change since voids it), the address a verification confirms
    bound_to       bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    ended_reason   text                      -- used, superseded
);
CREATE INDEX account_tokens_user ON account_tokens (dealership_id, user_id, purpose)
    WHERE ended_at IS NULL;

REVOKE ALL ON mail_outbox, account_tokens FROM PUBLIC;
GRANT INSERT ({OUTBOX_INSERT}) ON mail_outbox TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT, UPDATE ({OUTBOX_SENDER}), DELETE ON mail_outbox TO {PLATFORM_ROLE};
GRANT SELECT, INSERT ({TOKEN_INSERT}) ON account_tokens TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT UPDATE (ended_at, ended_reason) ON account_tokens TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT DELETE ON account_tokens TO {PLATFORM_ROLE};

-- a verified address (issue 11, item 3); set by confirming a mailed link
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
GRANT UPDATE (email_verified_at) ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT SELECT ON account_tokens TO {DEFINER_ROLE};

ALTER TABLE mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mail_outbox TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON mail_outbox TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);

ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON account_tokens TO {RUNTIME_ROLE}
    USING (dealership_id = {CURRENT_TENANT})
    WITH CHECK (dealership_id = {CURRENT_TENANT});
CREATE POLICY platform_scope ON account_tokens TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);
CREATE POLICY definer_lookup ON account_tokens FOR SELECT TO {DEFINER_ROLE} USING (true);

-- a presented token's owner, before any tenant is known; the secret is verified under RLS
CREATE FUNCTION auth_token_lookup(p_token_id uuid)
RETURNS TABLE (token_id uuid, user_id uuid, dealership_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, t.user_id, t.dealership_id
    FROM public.account_tokens t
    WHERE t.id = p_token_id
$$;
ALTER FUNCTION auth_token_lookup(uuid) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_token_lookup(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_token_lookup(uuid) TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = r#"
ALTER TABLE users DROP COLUMN email_verified_at;
DROP FUNCTION auth_token_lookup(uuid);
DROP TABLE account_tokens;
DROP TABLE mail_outbox;
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
