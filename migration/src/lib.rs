//! Schema migrations for dealergate: tables first, then the row-level-security posture.
//!
//! Migrations run as the owner role (the one in `DATABASE_URL` for `dealergate migrate up`);
//! the server itself runs as a login role that only switches into the runtime roles created here.

#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_tenant_tables;
mod m20261122_000002_enforce_row_level_security;
mod m20261122_000003_create_login_throttle;
mod m20261201_000004_narrow_update_grants;
mod m20261201_000005_purge_expired_rows;
mod m20261201_000006_notify_profile_changes;
mod m20261201_000007_index_the_directory;
mod m20261201_000008_create_mail_outbox;
mod m20261201_000009_sign_in_by_phone;
mod m20261201_000010_confirm_email_changes;
mod m20261201_000012_create_invitations;
mod m20261201_000013_create_custom_roles;
mod m20261202_000014_create_mfa_factors;
mod m20261206_000015_count_and_check_throttle;
mod m20261206_000016_look_up_phones_in_platform_scope;
mod m20261206_000017_mark_demo_databases;
mod m20261206_000018_split_people_from_memberships;
mod m20261206_000019_create_dealer_groups;
mod m20261206_000020_open_id_provider;
mod m20261207_000021_create_service_accounts;
mod m20261207_000022_create_webhooks;
mod m20261207_000023_track_dormant_accounts;
mod m20261207_000024_export_audit_events;

/// The NOLOGIN role every tenant-scoped request runs as (RLS filters by `app.dealership_id`).
pub const RUNTIME_ROLE: &str = "dealergate_app";
/// The NOLOGIN role for platform scope (system admins): sees every dealership, explicitly.
pub const PLATFORM_ROLE: &str = "dealergate_platform";
/// The NOLOGIN role that owns the narrow `SECURITY DEFINER` lookups for login and refresh.
pub const DEFINER_ROLE: &str = "dealergate_definer";

/// Runs one migration's SQL (several statements, in the migration's transaction).
async fn execute(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tenant_tables::Migration),
            Box::new(m20261122_000002_enforce_row_level_security::Migration),
            Box::new(m20261122_000003_create_login_throttle::Migration),
            Box::new(m20261201_000004_narrow_update_grants::Migration),
            Box::new(m20261201_000005_purge_expired_rows::Migration),
            Box::new(m20261201_000006_notify_profile_changes::Migration),
            Box::new(m20261201_000007_index_the_directory::Migration),
            Box::new(m20261201_000008_create_mail_outbox::Migration),
            Box::new(m20261201_000009_sign_in_by_phone::Migration),
            Box::new(m20261201_000010_confirm_email_changes::Migration),
            Box::new(m20261201_000012_create_invitations::Migration),
            Box::new(m20261201_000013_create_custom_roles::Migration),
            Box::new(m20261202_000014_create_mfa_factors::Migration),
            Box::new(m20261206_000015_count_and_check_throttle::Migration),
            Box::new(m20261206_000016_look_up_phones_in_platform_scope::Migration),
            Box::new(m20261206_000017_mark_demo_databases::Migration),
            Box::new(m20261206_000018_split_people_from_memberships::Migration),
            Box::new(m20261206_000019_create_dealer_groups::Migration),
            Box::new(m20261206_000020_open_id_provider::Migration),
            Box::new(m20261207_000021_create_service_accounts::Migration),
            Box::new(m20261207_000022_create_webhooks::Migration),
            Box::new(m20261207_000023_track_dormant_accounts::Migration),
            Box::new(m20261207_000024_export_audit_events::Migration),
        ]
    }
}
