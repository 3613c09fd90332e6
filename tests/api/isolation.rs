//! Tenant isolation at the database level, run through the login role production uses: every
//! read and write goes through the tenant transaction, and RLS is what holds it.

use std::collections::HashSet;

use dealergate::testing::{ENTER_SCOPE, ENTER_SET, Scope, TenantTx};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};
use uuid::Uuid;

use crate::helpers::{
    LOGIN_LOOKUP_COLUMNS, LOGIN_ROLE, METRO_MOTORS, PREMIUM_AUTO, PREMIUM_AUTO_NORTH,
    PREMIUM_GROUP, TestDb, connect_single,
};

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

/// `dealership_id` of every row `SELECT * FROM users` returns, unfiltered.
async fn visible_user_tenants(tx: &TenantTx) -> Vec<Option<Uuid>> {
    tx.query_all_raw(sql("SELECT * FROM users"))
        .await
        .expect("select users")
        .iter()
        .map(|row| row.try_get::<Option<Uuid>>("", "dealership_id").unwrap())
        .collect()
}

fn is_permission_denied(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("permission denied") || text.contains("row-level security")
}

#[tokio::test]
async fn a_tenant_transaction_sees_only_its_dealerships_users() {
    let db = TestDb::new().await;
    let pool = db.login_pool(2).await;
    for tenant in [PREMIUM_AUTO, METRO_MOTORS] {
        let tx = pool.begin(Scope::Dealership(tenant)).await.unwrap();
        let seen = visible_user_tenants(&tx).await;
        assert_eq!(seen.len(), 3, "principal, manager and agent of {tenant}");
        assert!(seen.iter().all(|d| *d == Some(tenant)));
        let dealerships = tx
            .query_all_raw(sql("SELECT id FROM dealerships"))
            .await
            .unwrap();
        assert_eq!(dealerships.len(), 1);
    }
}

#[tokio::test]
async fn without_a_tenant_no_rows_are_visible() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Anonymous).await.unwrap();
    assert!(visible_user_tenants(&tx).await.is_empty());
    for table in ["dealerships", "sessions", "audit_events"] {
        let rows = tx
            .query_all_raw(sql(&format!("SELECT * FROM {table}")))
            .await
            .unwrap();
        assert!(rows.is_empty(), "{table}");
    }
}

#[tokio::test]
async fn platform_scope_sees_every_dealership_explicitly() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Platform).await.unwrap();
    let tenants: HashSet<_> = visible_user_tenants(&tx).await.into_iter().collect();
    assert_eq!(
        tenants,
        HashSet::from([
            None,
            Some(PREMIUM_AUTO),
            Some(METRO_MOTORS),
            Some(PREMIUM_AUTO_NORTH)
        ])
    );
}

#[tokio::test]
async fn a_row_cannot_be_written_into_another_dealership() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;

    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let insert = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // a membership of a Premium Auto person, written into Metro Motors
            "INSERT INTO memberships (id, person_id, dealership_id, role) \
             VALUES (gen_random_uuid(), '0193a5f0-0000-7000-8000-000000000103', $1, 'agent')",
            [METRO_MOTORS.into()],
        ))
        .await
        .expect_err("insert into another tenant");
    assert!(is_permission_denied(&insert), "{insert}");
    drop(tx);

    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let moved = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE memberships SET dealership_id = $1 \
             WHERE id = '0193a5f0-0000-7000-8000-000000000103'",
            [METRO_MOTORS.into()],
        ))
        .await
        .expect_err("moving a row out of the tenant");
    assert!(is_permission_denied(&moved), "{moved}");
    drop(tx);

    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let foreign = tx
        .execute_raw(sql(
            "UPDATE people SET first_name = 'Owned' WHERE email = 'agent@metromotors.com'",
        ))
        .await
        .unwrap();
    assert_eq!(
        foreign.rows_affected(),
        0,
        "a person of another tenant only is invisible to UPDATE"
    );
    let deleted = tx
        .execute_raw(sql("DELETE FROM memberships"))
        .await
        .expect_err("no DELETE grant");
    assert!(is_permission_denied(&deleted), "{deleted}");
    drop(tx);

    let owner = db.owner().await;
    let row = owner
        .query_one_raw(sql(
            "SELECT first_name FROM users WHERE email = 'agent@metromotors.com'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "first_name").unwrap(), "Adam");
}

#[tokio::test]
async fn outside_a_tenant_transaction_the_login_role_is_denied_not_shown_everything() {
    let db = TestDb::new().await;
    let login = connect_single(&db.login_url()).await;
    let err = login
        .query_all_raw(sql("SELECT * FROM users"))
        .await
        .expect_err("the login role has no table privileges of its own");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn the_runtime_role_cannot_switch_to_anything_privileged() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    for attempt in [
        "SET ROLE postgres",
        "SELECT set_config('role', 'postgres', true)",
        "SET ROLE dealergate_definer",
        "SET SESSION AUTHORIZATION postgres",
    ] {
        let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
        let err = tx.execute_unprepared(attempt).await.expect_err(attempt);
        assert!(
            err.to_string().contains("permission denied"),
            "{attempt}: {err}"
        );
    }
    // stepping back out of the runtime role lands on the login role, which sees nothing
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    tx.execute_unprepared("RESET ROLE").await.unwrap();
    let err = tx
        .query_all_raw(sql("SELECT * FROM users"))
        .await
        .expect_err("fails closed");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn login_and_refresh_lookups_are_narrow_and_need_the_runtime_role() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Anonymous).await.unwrap();
    let found = tx
        .query_all_raw(sql(
            "SELECT * FROM auth_login_lookup('AGENT@premiumauto.com')",
        ))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "case-insensitive lookup by email");
    assert_eq!(
        found[0]
            .try_get::<Option<Uuid>>("", "dealership_id")
            .unwrap(),
        Some(PREMIUM_AUTO)
    );
    let columns = found[0].column_names();
    assert_eq!(columns, LOGIN_LOOKUP_COLUMNS, "nothing more");
    drop(tx);

    let login = connect_single(&db.login_url()).await;
    let err = login
        .query_all_raw(sql(
            "SELECT * FROM auth_login_lookup('agent@premiumauto.com')",
        ))
        .await
        .expect_err("only the runtime role may call it");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn tenant_settings_never_survive_the_transaction_on_a_pooled_connection() {
    let db = TestDb::new().await;
    // one connection, reused by every transaction: what a transaction sets, the next use sees
    let conn = connect_single(&db.login_url()).await;
    for (i, scope) in [
        Scope::Dealership(PREMIUM_AUTO),
        Scope::Platform,
        Scope::Dealership(METRO_MOTORS),
    ]
    .into_iter()
    .cycle()
    .take(30)
    .enumerate()
    {
        let (role, dealership, group) = scope.role_and_tenant();
        let tx = conn.begin().await.unwrap();
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            ENTER_SCOPE,
            [role.into(), dealership.into(), group.into()],
        ))
        .await
        .unwrap();
        tx.execute_unprepared(ENTER_SET).await.unwrap();
        if i % 2 == 0 {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        let after = conn
            .query_one_raw(sql("SELECT current_user::text AS who, \
                 coalesce(current_setting('app.dealership_id', true), '') AS tenant"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.try_get::<String>("", "who").unwrap(), LOGIN_ROLE);
        assert_eq!(after.try_get::<String>("", "tenant").unwrap(), "");
    }
}

#[tokio::test]
async fn many_concurrent_tenant_transactions_over_a_small_pool_never_leak() {
    let db = TestDb::new().await;
    let pool = db.login_pool(3).await;
    let scopes = [
        Scope::Dealership(PREMIUM_AUTO),
        Scope::Dealership(METRO_MOTORS),
        Scope::Anonymous,
        Scope::Platform,
        Scope::Group(PREMIUM_GROUP),
    ];
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let pool = pool.clone();
            let scope = scopes[i % scopes.len()];
            tokio::spawn(async move {
                let tx = pool.begin(scope).await.unwrap();
                let seen = visible_user_tenants(&tx).await;
                let leaked = match scope {
                    Scope::Dealership(id) => seen.len() != 3 || seen.iter().any(|d| *d != Some(id)),
                    Scope::Anonymous => !seen.is_empty(),
                    Scope::Platform => seen.len() != 9,
                    // both Premium rooftops (3 + 1) and the group's own member, nothing of Metro
                    Scope::Group(_) => {
                        let group = [Some(PREMIUM_AUTO), Some(PREMIUM_AUTO_NORTH), None];
                        seen.len() != 5 || seen.iter().any(|d| !group.contains(d))
                    }
                };
                if i % 3 == 0 {
                    drop(tx); // rolled back, as an error path would
                } else {
                    tx.commit().await.unwrap();
                }
                leaked
            })
        })
        .collect();
    let mut leaks = 0;
    for task in tasks {
        leaks += usize::from(task.await.unwrap());
    }
    assert_eq!(leaks, 0, "transactions that saw rows outside their scope");
}

#[tokio::test]
async fn a_groups_transaction_cannot_change_who_holds_a_group_role() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    // Olivia's group membership, seen from her own group's transaction: her last sign-in may
    // be written there, her role and whether she holds it only by the platform
    let owner = "0193a5f0-0000-7000-8000-000000000401";
    let tx = pool.begin(Scope::Group(PREMIUM_GROUP)).await.unwrap();
    let touched = tx
        .execute_raw(sql(&format!(
            "UPDATE memberships SET last_login = now() WHERE id = '{owner}'"
        )))
        .await
        .unwrap();
    assert_eq!(
        touched.rows_affected(),
        1,
        "her own row is in the group's reach"
    );
    for change in [
        "role = 'group_manager'",
        "is_active = false",
        "deleted_at = now()",
        "last_login = now() + interval '1 year'",
    ] {
        tx.execute_unprepared("SAVEPOINT s").await.unwrap();
        let refused = tx
            .execute_raw(sql(&format!(
                "UPDATE memberships SET {change} WHERE id = '{owner}'"
            )))
            .await;
        let refused = refused.expect_err(change);
        assert!(is_permission_denied(&refused), "{change}: {refused}");
        tx.execute_unprepared("ROLLBACK TO SAVEPOINT s")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_tenant_cannot_attach_someone_elses_person_to_itself() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    // Adam of Metro Motors, made a member of Premium Auto by Premium Auto's own transaction:
    // that would show it his person, and let it write his password
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let attached = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO memberships (id, person_id, dealership_id, role) \
             VALUES (gen_random_uuid(), '0193a5f0-0000-7000-8000-000000000203', $1, 'agent')",
            [PREMIUM_AUTO.into()],
        ))
        .await
        .expect_err("someone else's person");
    assert!(is_permission_denied(&attached), "{attached}");
    drop(tx);
    // nor can it read what a deleted membership of its own once showed it
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let seen = tx
        .query_all_raw(sql(
            "SELECT * FROM person_memberships('0193a5f0-0000-7000-8000-000000000203')",
        ))
        .await
        .unwrap();
    assert!(seen.is_empty(), "a person of another dealership only");
}
