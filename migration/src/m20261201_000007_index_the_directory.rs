//! The staff directory's index: a dealership's live users in the order the directory lists
//! them, so a page and its total read the index alone (an index-only scan counts a dealership of
//! 10,000 users from a few dozen pages, where the old index fetched every row from the heap, in
//! whatever order the rows were written). Replaces `users_dealership_idx`, which led with the
//! same columns but covered deleted users and lacked the tie-breaking `id`.
//!
//! A plain `CREATE INDEX` (migrations run in a transaction): on a million users it holds
//! writes to `users` for a second or two, once.

use sea_orm_migration::prelude::*;

use crate::execute;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000007_index_the_directory"
    }
}

const UP: &str = r#"
CREATE INDEX users_directory_idx ON users (dealership_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
DROP INDEX users_dealership_idx;
"#;

const DOWN: &str = r#"
CREATE INDEX users_dealership_idx ON users (dealership_id, created_at DESC);
DROP INDEX users_directory_idx;
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
