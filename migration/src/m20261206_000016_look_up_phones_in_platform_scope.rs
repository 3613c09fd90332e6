//! Platform scope (admins) asks whether a phone signs in an account, as tenant scope does: an
//! admin's new or edited user is judged before it is written (issue 20: a `409` on a taken
//! phone is a counted answer), which needs the phone lookup that sign-in uses.

use sea_orm_migration::prelude::*;

use crate::{PLATFORM_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000016_look_up_phones_in_platform_scope"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql =
            format!("GRANT EXECUTE ON FUNCTION auth_phone_login_lookup(text) TO {PLATFORM_ROLE};");
        execute(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "REVOKE EXECUTE ON FUNCTION auth_phone_login_lookup(text) FROM {PLATFORM_ROLE};"
        );
        execute(manager, &sql).await
    }
}
