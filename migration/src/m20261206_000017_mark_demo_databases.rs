//! A database the demo seed wrote says so (issue 21): `demo_seed` holds one row once
//! `dealergate seed` ran. The dev commands that wipe data or print second-factor codes
//! (`seed --reset`, `dev totp`) refuse a database without it, and `prod` refuses to serve one
//! with it (its demo admin's TOTP secret is published in the README). Everyone may ask
//! `demo_seeded()`; only the platform role writes the row.

use sea_orm_migration::prelude::*;

use crate::{DEFINER_ROLE, PLATFORM_ROLE, execute};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000017_mark_demo_databases"
    }
}

fn up_sql() -> String {
    format!(
        r#"
CREATE TABLE demo_seed (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seeded_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON demo_seed FROM PUBLIC;
ALTER TABLE demo_seed ENABLE ROW LEVEL SECURITY;
ALTER TABLE demo_seed FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON demo_seed TO {PLATFORM_ROLE};
GRANT SELECT ON demo_seed TO {DEFINER_ROLE};
CREATE POLICY platform_scope ON demo_seed TO {PLATFORM_ROLE} USING (true) WITH CHECK (true);
CREATE POLICY definer_reads ON demo_seed FOR SELECT TO {DEFINER_ROLE} USING (true);

CREATE FUNCTION demo_seeded()
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM public.demo_seed) $$;
ALTER FUNCTION demo_seeded() OWNER TO {DEFINER_ROLE};
"#
    )
}

const DOWN: &str = "DROP FUNCTION demo_seeded(); DROP TABLE demo_seed;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, &up_sql()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute(manager, DOWN).await
    }
}
