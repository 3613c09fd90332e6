//! Migrations are reversible.

use dealergate::{config::Profile, testing::posture};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestDb, database_settings};

async fn table_count(conn: &impl ConnectionTrait) -> i64 {
    conn.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

#[tokio::test]
async fn down_to_nothing_and_up_again_restores_a_secure_schema() {
    let db = TestDb::new().await;
    let owner = db.owner().await;
    assert_eq!(table_count(&owner).await, 24);

    // people in several dealerships are refused by the way down (tests/api/upgrade.rs): the demo
    // person with two memberships keeps one
    Migrator::down(&owner, None)
        .await
        .expect_err("a person with two memberships stops the way down");
    let second = "DELETE FROM memberships WHERE id = '0193a5f0-0000-7000-8000-000000000302'";
    owner.execute_unprepared(second).await.unwrap();
    // and so do dealer groups and group memberships (tests/api/dealer_groups.rs)
    Migrator::down(&owner, None)
        .await
        .expect_err("a dealer group stops the way down");
    let groups = "DELETE FROM memberships WHERE group_id IS NOT NULL; \
                  UPDATE dealerships SET group_id = NULL; DELETE FROM dealer_groups";
    owner.execute_unprepared(groups).await.unwrap();
    Migrator::down(&owner, None)
        .await
        .expect("every migration rolls back");
    assert_eq!(table_count(&owner).await, 0);

    Migrator::up(&owner, None).await.expect("and applies again");
    assert_eq!(table_count(&owner).await, 24);

    let pool = dealergate::testing::Database::connect(&database_settings(db.login_url(), 1))
        .await
        .unwrap();
    let report = posture::inspect(&pool, Profile::Prod).await.unwrap();
    assert!(report.is_secure(), "{:?}", report.problems);
    assert!(posture::migration_drift(&pool).await.unwrap().is_empty());
}
