//! Signed webhooks (issue 26, part 2): the endpoints a dealership (or the platform) registers,
//! the outbox of events owed to each, and the log of every delivery attempt.
//!
//! All three are **tenant tables** (`dealership_id`, RLS enabled and forced, the tenant set
//! policy for the runtime role, an open policy for the platform role). A platform endpoint has
//! no dealership: no tenant policy matches it, so only platform scope sees it.
//!
//! Events are **derived from the audit log**: every change is audited in its own transaction,
//! so an `AFTER INSERT` trigger on `audit_events` (`webhook_emit`, `SECURITY DEFINER`) maps the
//! action to an event type and writes one outbox row per enabled endpoint of the event's
//! dealership (and per platform endpoint) that wants it. A change that rolls back takes its
//! audit row and its events with it; a committed one always has them.
//!
//! The per-endpoint `sequence` is **not** written by the trigger (that would serialize every
//! write of a dealership on its endpoint row): the sequencer (one replica at a time, under an
//! advisory lock) numbers committed rows in the order it sees them, and stamps `committed_at`.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000022_create_webhooks"
    }
}

/// The dealerships of the current transaction (migration 000019).
const TENANT_SET: &str =
    "((select nullif(current_setting('app.dealership_ids', true), '')::uuid[])::uuid[])";

const TABLES: [&str; 3] = ["webhook_endpoints", "webhook_events", "webhook_deliveries"];

const ENDPOINT_INSERT: &str = "id, dealership_id, url, description, event_types, secret_sealed, \
                               enabled, created_by, created_at, updated_at";
const ENDPOINT_UPDATE: &str = "url, description, event_types, secret_sealed, previous_sealed, \
                               previous_expires_at, enabled, disabled_reason, \
                               consecutive_failures, updated_at";

fn up_sql() -> String {
    let policies: String = TABLES
        .iter()
        .map(|table| {
            format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n\
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n\
                 CREATE POLICY tenant_isolation ON {table} TO {RUNTIME_ROLE}\n    \
                 USING (dealership_id = ANY {TENANT_SET})\n    \
                 WITH CHECK (dealership_id = ANY {TENANT_SET});\n\
                 CREATE POLICY platform_scope ON {table} TO {PLATFORM_ROLE} \
                 USING (true) WITH CHECK (true);\n"
            )
        })
        .collect();
    format!(
        r#"
CREATE TABLE webhook_endpoints (
    id                   uuid PRIMARY KEY,
    -- NULL: a platform endpoint (admins), seen in platform scope only
    dealership_id        uuid REFERENCES dealerships (id),
    url                  text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description          text CHECK (length(description) <= 200),
    event_types          text[] NOT NULL,
    -- `whsec_…` sealed like TOTP secrets (AES-256-GCM, bound to the endpoint): HMAC needs it
    secret_sealed        bytea NOT NULL,
    -- the secret before the last rotation, also signed with until previous_expires_at
    previous_sealed      bytea,
    previous_expires_at  timestamptz,
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    -- the last sequence number the sequencer gave out for this endpoint
    last_sequence        bigint NOT NULL DEFAULT 0,
    created_by           uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_dealership ON webhook_endpoints (dealership_id, created_at);

-- the outbox: one row per event per endpoint; its id is the `webhook-id` of every attempt
CREATE TABLE webhook_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- insertion order: breaks ties among rows a sequencer pass finds committed together
    ord             bigint GENERATED ALWAYS AS IDENTITY,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    dealership_id   uuid REFERENCES dealerships (id),
    event_type      text NOT NULL,
    audit_event_id  uuid NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- set by the sequencer once the row is committed: the order of commit per endpoint
    sequence        bigint,
    committed_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    -- when it is due; while leased, when the lease ends
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_error      text,
    UNIQUE (endpoint_id, sequence)
);
CREATE INDEX webhook_events_endpoint ON webhook_events (dealership_id, endpoint_id, created_at DESC);
CREATE INDEX webhook_events_unnumbered ON webhook_events (ord) WHERE sequence IS NULL;
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at)
    WHERE sequence IS NOT NULL AND delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id      uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id   uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    dealership_id uuid REFERENCES dealerships (id),
    attempt       integer NOT NULL,
    -- the receiver's status; NULL when no answer came (refused, timed out, unreachable)
    status        integer,
    duration_ms   integer NOT NULL,
    error         text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (dealership_id, endpoint_id, at DESC);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

REVOKE ALL ON webhook_endpoints, webhook_events, webhook_deliveries FROM PUBLIC;
GRANT SELECT, INSERT ({ENDPOINT_INSERT}), UPDATE ({ENDPOINT_UPDATE}), DELETE
    ON webhook_endpoints TO {RUNTIME_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_events, webhook_deliveries
    TO {PLATFORM_ROLE};
-- a tenant reads its events and deliveries and asks for a redelivery; the senders (platform
-- scope) do the rest
GRANT SELECT, UPDATE (next_attempt_at, delivered_at, failed_at, attempts) ON webhook_events
    TO {RUNTIME_ROLE};
GRANT SELECT ON webhook_deliveries TO {RUNTIME_ROLE};
GRANT SELECT ON webhook_endpoints TO {DEFINER_ROLE};
GRANT INSERT ON webhook_events TO {DEFINER_ROLE};
{policies}CREATE POLICY definer_emits ON webhook_endpoints FOR SELECT TO {DEFINER_ROLE} USING (true);
CREATE POLICY definer_emits ON webhook_events FOR INSERT TO {DEFINER_ROLE} WITH CHECK (true);

-- the webhook event type of an audited action, or NULL (not an event)
CREATE FUNCTION webhook_event_type(p_action text, p_changes jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_action IN ('user.created', 'user.signed_up') THEN 'user.created'
        WHEN p_action = 'user.deactivated' THEN 'user.deactivated'
        WHEN p_action = 'user.updated' AND p_changes -> 'is_active' ->> 'after' = 'false'
            THEN 'user.deactivated'
        WHEN p_action = 'user.updated' AND (p_changes ? 'role' OR p_changes ? 'custom_role_id')
            THEN 'user.role_changed'
        WHEN p_action IN ('user.updated', 'user.email_changed') THEN 'user.updated'
        WHEN p_action IN ('user.deleted', 'user.account_closed', 'membership.left')
            THEN 'user.deleted'
        WHEN p_action IN ('role.created', 'role.updated', 'role.deleted') THEN 'role.changed'
        WHEN p_action IN ('session.revoked', 'session.revoked_all') THEN 'session.revoked'
        WHEN p_action IN ('mfa.enrolled', 'mfa.reset', 'invitation.accepted', 'policy.reloaded',
                          'service_account.created', 'service_account.revoked')
            THEN p_action
        WHEN p_action = 'dealership.deleted' THEN 'dealership.suspended'
        WHEN p_action = 'dealership.updated' AND p_changes -> 'is_active' ->> 'after' = 'false'
            THEN 'dealership.suspended'
    END
$$;

-- one outbox row per enabled endpoint that wants the event: the event's dealership's and the
-- platform's. The payload names ids only: never a secret, never another tenant's rows.
CREATE FUNCTION webhook_emit()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text := public.webhook_event_type(NEW.action, NEW.changes);
    emitted integer;
BEGIN
    IF kind IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.webhook_events (endpoint_id, dealership_id, event_type, audit_event_id,
                                       payload, created_at)
    SELECT w.id, w.dealership_id, kind, NEW.id,
           jsonb_build_object(
               'type', kind,
               'timestamp', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'data', jsonb_build_object(
                   'dealership_id', NEW.dealership_id,
                   'action', NEW.action,
                   'target_type', NEW.target_type,
                   'target_id', NEW.target_id,
                   'actor_id', NEW.actor_id,
                   'audit_event_id', NEW.id)),
           NEW.at
    FROM public.webhook_endpoints w
    WHERE w.enabled AND kind = ANY (w.event_types)
      AND (w.dealership_id IS NULL OR w.dealership_id = NEW.dealership_id);
    GET DIAGNOSTICS emitted = ROW_COUNT;
    IF emitted > 0 THEN
        PERFORM pg_notify('dealergate_webhooks', '');
    END IF;
    RETURN NULL;
END
$$;
ALTER FUNCTION webhook_event_type(text, jsonb) OWNER TO {DEFINER_ROLE};
ALTER FUNCTION webhook_emit() OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION webhook_emit() FROM PUBLIC;
CREATE TRIGGER webhook_emit AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION webhook_emit();
"#
    )
}

const DOWN: &str = r#"
DROP TRIGGER webhook_emit ON audit_events;
DROP FUNCTION webhook_emit();
DROP FUNCTION webhook_event_type(text, jsonb);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
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
