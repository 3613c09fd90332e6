//! Sign-in by phone: a live user's phone is unique, like their email, and a `SECURITY DEFINER`
//! lookup finds the user signing in with it before any tenant is known.
//!
//! No rows are rewritten first. Every phone was written through `Phone::parse`, so it is E.164
//! already, and exact equality is the match. Two live users sharing a number would make the
//! index build fail with PostgreSQL's error naming the number: which of them keeps it is an
//! operator's call, not a migration's. A soft-deleted user's phone is free again.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_sign_in_by_phone"
    }
}

fn up_sql() -> String {
    format!(
        r#"
CREATE UNIQUE INDEX users_phone_key ON users (phone)
    WHERE deleted_at IS NULL AND phone IS NOT NULL;

-- what auth_login_lookup returns, found by the E.164 number (the index above serves it)
CREATE FUNCTION auth_phone_login_lookup(p_phone text)
RETURNS TABLE (user_id uuid, dealership_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.dealership_id, u.password_hash
    FROM public.users u
    WHERE u.phone = p_phone AND u.deleted_at IS NULL
$$;
ALTER FUNCTION auth_phone_login_lookup(text) OWNER TO {DEFINER_ROLE};
REVOKE ALL ON FUNCTION auth_phone_login_lookup(text) FROM PUBLIC;
-- only logins call it, and they run as the runtime role (the operator's CLI creates by email)
GRANT EXECUTE ON FUNCTION auth_phone_login_lookup(text) TO {RUNTIME_ROLE};
"#
    )
}

const DOWN: &str = r#"
DROP FUNCTION auth_phone_login_lookup(text);
DROP INDEX users_phone_key;
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
