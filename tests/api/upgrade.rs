//! Upgrades lose nothing (issue 22): a database of the previous release (`tests/fixtures/
//! release_21.*`, restored with `psql`) goes through the new migrations, and then every user is
//! one person with one membership of the same id, the admin's TOTP factor follows the person,
//! the schema passes the posture check, and the real server lets every old user in with their
//! old password (by email, by phone, with the old TOTP secret) and refreshes every old session.
//! Down gives the old `users` table back, and refuses while a person has two memberships.

use std::time::Duration;

use dealergate::{
    config::{Profile, Secret},
    testing::posture,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::Deserialize;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Totp};
use uuid::Uuid;

use crate::helpers::{
    METRO_MOTORS, TestApp, TestDb, count, exec, mfa::unix_now, restore::restore, start_with,
    test_settings,
};

/// A user of `release_21.json`.
#[derive(Debug, Deserialize)]
struct OldUser {
    email: String,
    password: String,
    phone: Option<String>,
    /// The dealership's name; `None` for the platform admin.
    dealership: Option<String>,
    user_id: Uuid,
    totp_secret: Option<String>,
    refresh_token: String,
}

#[derive(Deserialize)]
struct Release {
    users: Vec<OldUser>,
}

/// The user `release_21.json` says signed in by phone.
const PHONE_USER: &str = "phone.agent@premiumauto.com";
/// The secret the release's server ran with (`release_21.json`'s notes).
const REFRESH_SECRET: &str = "release21-fixture-refresh-secret-0123456789";

/// What identifies each user (the `users` table before, the `users` view after): ids, sign-in
/// names, password hashes, names, roles, standing.
const USERS_FINGERPRINT: &str = "SELECT md5(string_agg(ROW(id, dealership_id, email, \
     password_hash, first_name, last_name, phone, role, is_active, token_version, \
     email_verified_at, deleted_at)::text, ',' ORDER BY id)) AS f FROM users";

/// The restored release, its sessions moved forward so that they have not expired, and its
/// users.
async fn release_21() -> (TestDb, Vec<OldUser>) {
    let db = restore("release_21.sql").await;
    exec(
        &db.owner().await,
        "UPDATE sessions SET expires_at = now() + interval '7 days', \
         absolute_expires_at = now() + interval '30 days' WHERE revoked_at IS NULL",
    )
    .await;
    let json = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release_21.json"),
    )
    .expect("release_21.json");
    let release: Release = serde_json::from_str(&json).expect("release_21.json's users");
    (db, release.users)
}

async fn fingerprint(conn: &impl ConnectionTrait, sql: &str) -> String {
    conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("one row")
        .try_get::<String>("", "f")
        .expect("column f")
}

/// The counts the upgrade must keep.
#[derive(Debug, PartialEq)]
struct Counts {
    users: i64,
    live_users: i64,
    sessions: i64,
    factors: i64,
    recovery_codes: i64,
}

async fn assert_n(conn: &impl ConnectionTrait, sql: &str, expected: i64, what: &str) {
    assert_eq!(count(conn, sql).await, expected, "{what}");
}

/// The one user with a TOTP factor: the platform admin.
fn admin(users: &[OldUser]) -> &OldUser {
    users.iter().find(|u| u.totp_secret.is_some()).unwrap()
}

async fn counts(conn: &impl ConnectionTrait) -> Counts {
    Counts {
        users: count(conn, "SELECT count(*) AS n FROM users").await,
        live_users: count(
            conn,
            "SELECT count(*) AS n FROM users WHERE deleted_at IS NULL",
        )
        .await,
        sessions: count(conn, "SELECT count(*) AS n FROM sessions").await,
        factors: count(conn, "SELECT count(*) AS n FROM mfa_factors").await,
        recovery_codes: count(conn, "SELECT count(*) AS n FROM mfa_recovery_codes").await,
    }
}

/// The code of an authenticator app holding `secret` (base32), not within two seconds of its
/// step's end.
async fn code_now(secret: &str) -> String {
    let totp: Totp = totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(
            totp_rs::Secret::try_from_base32(secret)
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
        .build()
        .unwrap();
    if 30 - unix_now() % 30 < 2 {
        tokio::time::sleep(Duration::from_millis(2_100)).await;
    }
    totp.generate(unix_now()).to_string()
}

/// A sign-in or refresh answer is `user`'s, in their one dealership.
async fn assert_signed_in(resp: reqwest::Response, user: &OldUser, what: &str) {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{what} {}: {body}", user.email);
    assert_eq!(body["user"]["id"], json!(user.user_id), "{what}: {body}");
    assert_eq!(body["user"]["email"], json!(user.email), "{what}: {body}");
    let memberships = body["user"]["memberships"].as_array().expect("memberships");
    assert_eq!(memberships.len(), 1, "{what} {}: {body}", user.email);
    assert_eq!(memberships[0]["user_id"], json!(user.user_id), "{what}");
    let dealership = &memberships[0]["dealership_name"];
    assert_eq!(dealership, &json!(user.dealership), "{what}");
}

#[tokio::test]
async fn an_upgraded_release_21_keeps_every_user_factor_and_session() {
    let (db, users) = release_21().await;
    let owner = db.owner().await;
    let before = counts(&owner).await;
    let users_before = fingerprint(&owner, USERS_FINGERPRINT).await;
    assert_eq!((before.users, before.sessions), (8, 8), "the fixture");
    assert_eq!(before.factors, 1, "the admin's factor");

    Migrator::up(&owner, None)
        .await
        .expect("the new migrations apply");

    // one person and one membership per user, both of the user's id
    assert_eq!(counts(&owner).await, before, "through the users view");
    let people = "SELECT count(*) AS n FROM people";
    assert_n(&owner, people, before.users, "people").await;
    let memberships = "SELECT count(*) AS n FROM memberships";
    assert_n(&owner, memberships, before.users, "memberships").await;
    let mismatched = "SELECT count(*) AS n FROM memberships m \
                      LEFT JOIN people p ON p.id = m.person_id WHERE p.id IS DISTINCT FROM m.id";
    assert_n(&owner, mismatched, 0, "membership id = person_id").await;
    let users_after = fingerprint(&owner, USERS_FINGERPRINT).await;
    assert_eq!(users_after, users_before, "users as they were");
    let factor = format!(
        "SELECT count(*) AS n FROM mfa_factors WHERE person_id = '{}'",
        admin(&users).user_id
    );
    assert_n(&owner, &factor, 1, "the factor is the admin's").await;
    let own_sign_in = "SELECT count(*) AS n FROM sessions WHERE sign_in_id <> id";
    assert_n(&owner, own_sign_in, 0, "one sign-in per old session").await;

    let pool = db.login_pool(1).await;
    let report = posture::inspect(&pool, Profile::Dev).await.unwrap();
    assert!(report.is_secure(), "{:?}", report.problems);
    assert!(posture::migration_drift(&pool).await.unwrap().is_empty());
    pool.close().await.unwrap();
    drop(owner);

    // the real server, as the login role; the admin's factor is sealed with the dev key
    let mut settings = test_settings(&db);
    settings.auth.mfa.encryption_key = None;
    settings.auth.refresh_token_secret = Some(Secret::new(REFRESH_SECRET.to_owned()));
    let app = start_with(std::sync::Arc::new(db), settings).await;

    // every old session refreshes, before anything else touches it
    for user in &users {
        assert_signed_in(app.refresh(&user.refresh_token).await, user, "refresh").await;
    }
    for user in &users {
        sign_in(&app, user).await;
    }
    let by_phone = users.iter().find(|u| u.email == PHONE_USER).unwrap();
    let phone = by_phone.phone.as_deref().unwrap();
    let resp = app.login_by_phone(phone, &by_phone.password).await;
    assert_signed_in(resp, by_phone, "phone login").await;
}

/// Signs `user` in by email with the old password, and the admin with the old TOTP secret.
async fn sign_in(app: &TestApp, user: &OldUser) {
    let resp = app.login(&user.email, &user.password).await;
    let Some(secret) = &user.totp_secret else {
        return assert_signed_in(resp, user, "login").await;
    };
    assert_eq!(resp.status(), 200, "{}'s password", user.email);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    let verify = json!({"mfa_token": body["mfa_token"], "code": code_now(secret).await});
    let resp = app.post_json("/api/v1/auth/mfa/verify", verify).await;
    assert_signed_in(resp, user, "mfa/verify").await;
}

#[tokio::test]
async fn down_refuses_a_person_with_two_memberships_and_otherwise_gives_users_back() {
    let (db, users) = release_21().await;
    let owner = db.owner().await;
    let before = counts(&owner).await;
    let users_before = fingerprint(&owner, USERS_FINGERPRINT).await;
    Migrator::up(&owner, None)
        .await
        .expect("the new migrations apply");
    // everything from dealer groups (000019) on goes back at once: there are no clients, no
    // groups, nothing of the later issues
    let since_groups = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261206_000019_create_dealer_groups")
        .expect("000019 is a migration") as u32
        + 1;
    Migrator::down(&owner, Some(since_groups))
        .await
        .expect("000019 and later roll back without clients or groups");

    // a Premium Auto agent who also works at Metro Motors
    let agent = users
        .iter()
        .find(|u| u.email == "agent@premiumauto.com")
        .unwrap();
    let second = Uuid::new_v4();
    exec(
        &owner,
        &format!(
            "INSERT INTO memberships (id, dealership_id, person_id, role) \
             VALUES ('{second}', '{METRO_MOTORS}', '{}', 'agent')",
            agent.user_id
        ),
    )
    .await;
    let refused = Migrator::down(&owner, Some(1))
        .await
        .expect_err("down refuses a person with two memberships");
    assert!(
        refused.to_string().contains("more than one membership"),
        "{refused}"
    );
    let memberships = "SELECT count(*) AS n FROM memberships";
    assert_n(&owner, memberships, 9, "nothing undone").await;

    let extra = format!("DELETE FROM memberships WHERE id = '{second}'");
    exec(&owner, &extra).await;
    Migrator::down(&owner, Some(1)).await.expect("down applies");

    let table = "SELECT count(*) AS n FROM pg_class \
                 WHERE relname = 'users' AND relkind = 'r' AND to_regclass('people') IS NULL";
    assert_n(&owner, table, 1, "users is a table again, people gone").await;
    assert_eq!(counts(&owner).await, before);
    let users_after = fingerprint(&owner, USERS_FINGERPRINT).await;
    assert_eq!(users_after, users_before, "emails, hashes and all");
    let factor = format!(
        "SELECT count(*) AS n FROM mfa_factors WHERE user_id = '{}' AND dealership_id IS NULL",
        admin(&users).user_id
    );
    assert_n(&owner, &factor, 1, "the admin's factor is the user's again").await;
    let pool = db.login_pool(1).await;
    let report = posture::inspect(&pool, Profile::Dev).await.unwrap();
    assert!(report.is_secure(), "{:?}", report.problems);
    pool.close().await.unwrap();
}

/// Dormancy (migration 000023) counts from the deploy that introduced it: the old users'
/// sign-ins are older than a day, yet a pass with one day of grace deactivates nobody.
#[tokio::test]
async fn an_upgrade_starts_every_dormancy_clock_at_the_deploy_and_deactivates_nobody() {
    let (db, _) = release_21().await;
    let owner = db.owner().await;
    Migrator::up(&owner, None)
        .await
        .expect("the new migrations apply");
    let before_deploy = "SELECT count(*) AS n FROM memberships \
                         WHERE last_active_at < now() - interval '1 minute' \
                            OR dormant_notice_at IS NOT NULL";
    assert_n(&owner, before_deploy, 0, "every clock starts at the deploy").await;
    drop(owner);

    let mut settings = test_settings(&db);
    settings.auth.mfa.encryption_key = None;
    settings.maintenance.purge_interval_secs = 0;
    settings.accounts.dormant_after_days = Some(1);
    settings.accounts.dormant_notice_days = 0;
    let app = start_with(std::sync::Arc::new(db), settings).await;
    let done = dealergate::testing::dormant::run(&app.state).await.unwrap();
    assert_eq!(done, Default::default(), "nobody noticed or deactivated");
}
