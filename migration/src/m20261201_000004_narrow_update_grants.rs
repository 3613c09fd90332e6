//! What the policy forbids, the database forbids too: the runtime roles may UPDATE only the
//! columns the application changes. A tenant (`dealergate_app`) edits its dealership's profile
//! but cannot suspend or delete it (`is_active`, `deleted_at`: platform only); nobody rewrites
//! a row's identity (`id`, `dealership_id`, `user_id`, `created_at`) or a session's hard end.

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_narrow_update_grants"
    }
}

const PROFILE: &str = "name, address, contact_email, contact_phone, updated_at";
const USER: &str = "email, password_hash, first_name, last_name, phone, role, is_active, \
                    token_version, last_login, updated_at, deleted_at";
const SESSION: &str = "refresh_token_hash, previous_token_hash, rotated_at, rotation_count, \
                       last_used_at, expires_at, revoked_at, revoked_reason";

fn up_sql() -> String {
    format!(
        r#"
REVOKE UPDATE ON dealerships, users, sessions FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT UPDATE ({PROFILE}) ON dealerships TO {RUNTIME_ROLE};
GRANT UPDATE ({PROFILE}, is_active, deleted_at) ON dealerships TO {PLATFORM_ROLE};
GRANT UPDATE ({USER}) ON users TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT UPDATE ({SESSION}) ON sessions TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

fn down_sql() -> String {
    format!(
        r#"
REVOKE UPDATE ({PROFILE}, is_active, deleted_at) ON dealerships FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};
REVOKE UPDATE ({USER}) ON users FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};
REVOKE UPDATE ({SESSION}) ON sessions FROM {RUNTIME_ROLE}, {PLATFORM_ROLE};
GRANT UPDATE ON dealerships TO {RUNTIME_ROLE};
GRANT UPDATE ON users, sessions TO {RUNTIME_ROLE};
GRANT UPDATE ON dealerships, users, sessions TO {PLATFORM_ROLE};
"#
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &down_sql()).await
    }
}
