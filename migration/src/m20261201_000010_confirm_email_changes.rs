//! Changing one's own email waits for the new mailbox to confirm it: the confirmation token is
//! an `account_tokens` row of purpose `email_change` that carries the address it will set
//! (`new_email`) and the session that asked (`session_id`, the one session the change keeps).
//! Both are written once, with the token, by the runtime roles' existing column grants widened
//! to them; the tenant policies of migration 000008 already confine the rows.

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, RUNTIME_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000010_confirm_email_changes"
    }
}

fn up_sql() -> String {
    format!(
        r#"
ALTER TABLE account_tokens
    ADD COLUMN new_email  text,
    ADD COLUMN session_id uuid,
    ADD CONSTRAINT account_tokens_new_email_for_email_change
        CHECK ((purpose = 'email_change') = (new_email IS NOT NULL));
GRANT INSERT (new_email, session_id) ON account_tokens TO {RUNTIME_ROLE}, {PLATFORM_ROLE};
"#
    )
}

const DOWN: &str = r#"
DELETE FROM account_tokens WHERE purpose = 'email_change';
ALTER TABLE account_tokens
    DROP CONSTRAINT account_tokens_new_email_for_email_change,
    DROP COLUMN session_id,
    DROP COLUMN new_email;
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
