//! Every committed change to a user row tells every replica, so the profiles they cache for
//! `/auth/me` cannot miss one: whoever writes the row (a service, the CLI, an operator in
//! `psql`), the trigger sends `profile:<id>` on the revocation channel. NOTIFY is
//! transactional: it is delivered at commit, never for a rollback, and once per id however many
//! times the transaction touched the row.

use sea_orm_migration::prelude::*;

use crate::execute;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_notify_profile_changes"
    }
}

// SECURITY INVOKER (the default): it runs as whoever changed the row — the runtime roles
// included — and needs nothing but `pg_notify`, which PUBLIC may call. EXECUTE on a trigger
// function is checked when the trigger is created, not when it fires, so nobody needs it.
const UP: &str = r#"
CREATE FUNCTION users_notify_profile_change()
RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the channel and payload of `Revoked::Profile` (src/auth/sessions.rs)
    PERFORM pg_notify('dealergate_revocations', 'profile:' || OLD.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION users_notify_profile_change() FROM PUBLIC;
CREATE TRIGGER users_notify_profile_change
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_notify_profile_change();
"#;

const DOWN: &str = r#"
DROP TRIGGER users_notify_profile_change ON users;
DROP FUNCTION users_notify_profile_change();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, DOWN).await
    }
}
