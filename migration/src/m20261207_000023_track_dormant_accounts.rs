//! Dormant accounts and access reviews (issue 26, parts 3 and 4).
//!
//! A membership's activity clock, `last_active_at`: sign-in, switch and OpenID sign-in set it,
//! refresh at most once a day. Existing rows take this migration's `now()` (a column default
//! is evaluated once for the rows already there), so the clock starts at the later of the last
//! activity and the deploy that introduced it: an upgrade deactivates nobody that day.
//! `dormant_notice_at` marks the notice mail, `dormant_kept_at` a last principal kept (and the
//! admins told); activity clears both. A dealership may override `accounts.dormant_after_days`
//! (`dormant_after_days`, 0 = off).
//!
//! Updates that only move these columns send no profile notice (they change nothing a profile
//! shows), and the runtime role may move them only to now (the clock) or back to none (marks).
//!
//! `access_review_completions` records that a principal (or a group principal, or an admin for
//! the platform) reviewed who has access, with the SHA-256 of the export they reviewed.

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000023_track_dormant_accounts"
    }
}

/// The dealerships of the current transaction (migration 000019's expression).
const TENANT_SET: &str =
    "((select nullif(current_setting('app.dealership_ids', true), '')::uuid[])::uuid[])";
/// The group of a group's transaction; unset otherwise.
const TENANT_GROUP: &str = "(select nullif(current_setting('app.group_id', true), '')::uuid)";

/// Columns an update may move without the profile notice.
const QUIET: &str = "'{last_active_at,dormant_notice_at,dormant_kept_at}'::text[]";

fn up() -> String {
    format!(
        r#"
ALTER TABLE memberships ADD COLUMN last_active_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE memberships ADD COLUMN dormant_notice_at timestamptz;
ALTER TABLE memberships ADD COLUMN dormant_kept_at timestamptz;
-- the maintenance scan: live members by their clock
CREATE INDEX memberships_activity ON memberships (last_active_at)
    WHERE deleted_at IS NULL AND is_active AND role <> 'admin';
GRANT UPDATE (last_active_at, dormant_notice_at, dormant_kept_at) ON memberships
    TO {RUNTIME_ROLE}, {PLATFORM_ROLE};

ALTER TABLE dealerships ADD COLUMN dormant_after_days integer
    CHECK (dormant_after_days BETWEEN 0 AND 3650);
GRANT UPDATE (dormant_after_days) ON dealerships TO {PLATFORM_ROLE};

-- a tenant's transaction moves the clock to now and clears the marks, nothing else
CREATE FUNCTION memberships_guard_activity()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_user = '{RUNTIME_ROLE}'
       AND ((NEW.last_active_at IS DISTINCT FROM OLD.last_active_at
             AND NEW.last_active_at IS DISTINCT FROM now())
            OR (NEW.dormant_notice_at IS DISTINCT FROM OLD.dormant_notice_at
                AND NEW.dormant_notice_at IS NOT NULL)
            OR (NEW.dormant_kept_at IS DISTINCT FROM OLD.dormant_kept_at
                AND NEW.dormant_kept_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'permission denied: activity moves to now only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION memberships_guard_activity() FROM PUBLIC;
CREATE TRIGGER memberships_guard_activity BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_guard_activity();

-- activity alone changes no profile: no notice to every replica for it
DROP TRIGGER memberships_notify_change ON memberships;
CREATE TRIGGER memberships_notify_change AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_notify_change();
CREATE TRIGGER memberships_notify_update AFTER UPDATE ON memberships
    FOR EACH ROW WHEN ((to_jsonb(OLD) - {QUIET}) IS DISTINCT FROM (to_jsonb(NEW) - {QUIET}))
    EXECUTE FUNCTION memberships_notify_change();

CREATE TABLE access_review_completions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- the dealership reviewed; none for a group's review (group_id) or the platform's
    dealership_id uuid REFERENCES dealerships (id),
    group_id uuid REFERENCES dealer_groups (id),
    completed_by uuid NOT NULL REFERENCES memberships (id),
    export_sha256 text NOT NULL CHECK (export_sha256 ~ '^[0-9a-f]{{64}}$'),
    note text CHECK (length(note) <= 2000),
    completed_at timestamptz NOT NULL DEFAULT now(),
    CHECK (dealership_id IS NULL OR group_id IS NULL)
);
CREATE INDEX access_review_completions_dealership
    ON access_review_completions (dealership_id, completed_at DESC);
ALTER TABLE access_review_completions ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_review_completions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON access_review_completions TO {RUNTIME_ROLE}
    USING (dealership_id = ANY {TENANT_SET}) WITH CHECK (dealership_id = ANY {TENANT_SET});
CREATE POLICY group_rows_all ON access_review_completions TO {RUNTIME_ROLE}
    USING (dealership_id IS NULL AND group_id = {TENANT_GROUP})
    WITH CHECK (dealership_id IS NULL AND group_id = {TENANT_GROUP});
CREATE POLICY platform_scope ON access_review_completions TO {PLATFORM_ROLE}
    USING (true) WITH CHECK (true);
REVOKE ALL ON access_review_completions FROM PUBLIC;
-- append-only: a review done stays done
GRANT SELECT, INSERT ON access_review_completions TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn down() -> String {
    format!(
        r#"
DROP TABLE access_review_completions;
DROP TRIGGER memberships_notify_update ON memberships;
DROP TRIGGER memberships_notify_change ON memberships;
CREATE TRIGGER memberships_notify_change AFTER UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_notify_change();
DROP TRIGGER memberships_guard_activity ON memberships;
DROP FUNCTION memberships_guard_activity();
REVOKE UPDATE (dormant_after_days) ON dealerships FROM {PLATFORM_ROLE};
ALTER TABLE dealerships DROP COLUMN dormant_after_days;
REVOKE UPDATE (last_active_at, dormant_notice_at, dormant_kept_at) ON memberships
    FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};
DROP INDEX memberships_activity;
ALTER TABLE memberships DROP COLUMN dormant_kept_at;
ALTER TABLE memberships DROP COLUMN dormant_notice_at;
ALTER TABLE memberships DROP COLUMN last_active_at;
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &down()).await
    }
}
