//! The mail tables are tenant tables: the outbox is write-only for a dealership and confined to
//! it, tokens are visible only to their own dealership, and a reset in one dealership touches
//! nothing in the other. Run as the login role production uses.

use std::time::Duration;

use dealergate::{config::Secret, testing::Scope};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde_json::json;

use crate::helpers::{
    METRO_MOTORS, MM_AGENT, PA_AGENT, PREMIUM_AUTO, TestDb, count, exec, smtp::SmtpServer,
    spawn_app_with,
};

const OUTBOX_ROW: &str = "INSERT INTO mail_outbox (id, dealership_id, kind, recipient, subject) \
                          VALUES (gen_random_uuid(), $1, 'password_reset', 'x@example.com', 's')";

fn denied(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("permission denied") || text.contains("row-level security")
}

#[tokio::test]
async fn a_dealership_may_queue_its_own_mail_but_never_read_or_change_the_queue() {
    let db = TestDb::new().await;
    let pool = db.login_pool(1).await;
    let insert = |tenant: uuid::Uuid| {
        Statement::from_sql_and_values(DbBackend::Postgres, OUTBOX_ROW, [tenant.into()])
    };

    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    tx.execute_raw(insert(PREMIUM_AUTO))
        .await
        .expect("its own mail");
    tx.commit().await.unwrap();
    for forbidden in [
        "SELECT * FROM mail_outbox",
        "UPDATE mail_outbox SET recipient = 'attacker@example.com'",
        "DELETE FROM mail_outbox",
    ] {
        let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
        let err = tx.execute_unprepared(forbidden).await.expect_err(forbidden);
        assert!(denied(&err), "{forbidden}: {err}");
    }
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let err = tx
        .execute_raw(insert(METRO_MOTORS))
        .await
        .expect_err("another's mail");
    assert!(denied(&err), "{err}");
    drop(tx);

    let tx = pool.begin(Scope::Platform).await.unwrap();
    let n = count(&tx, "SELECT count(*) AS n FROM mail_outbox").await;
    assert_eq!(n, 1, "the sender's platform scope sees the queue");
}

#[tokio::test]
async fn a_dealership_sees_only_its_own_tokens_and_none_without_a_tenant() {
    let db = TestDb::new().await;
    let owner = db.owner().await;
    for (user, tenant) in [(PA_AGENT.id, PREMIUM_AUTO), (MM_AGENT.id, METRO_MOTORS)] {
        exec(
            &owner,
            &format!(
                "INSERT INTO account_tokens (id, dealership_id, user_id, purpose, token_hash, \
                 bound_to, expires_at) VALUES (gen_random_uuid(), '{tenant}', '{user}', \
                 'password_reset', '\\x00', '\\x00', now() + interval '1 hour')"
            ),
        )
        .await;
    }
    let pool = db.login_pool(1).await;
    let tx = pool.begin(Scope::Dealership(PREMIUM_AUTO)).await.unwrap();
    let mine = "SELECT count(*) AS n FROM account_tokens";
    assert_eq!(count(&tx, mine).await, 1);
    let ended = tx
        .execute_unprepared("UPDATE account_tokens SET ended_at = now()")
        .await
        .unwrap();
    assert_eq!(ended.rows_affected(), 1, "only its own token");
    drop(tx);
    let tx = pool.begin(Scope::Anonymous).await.unwrap();
    assert_eq!(count(&tx, mine).await, 0);
}

#[tokio::test]
async fn a_reset_in_one_dealership_leaves_the_other_untouched() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(Secret::new(url))).await;
    let theirs = app.login_ok(MM_AGENT.email, MM_AGENT.password).await;
    for user in [&PA_AGENT, &MM_AGENT] {
        let body = json!({"email": user.email});
        let resp = app.post_json("/api/v1/auth/password-reset", body).await;
        assert_eq!(resp.status(), 202);
    }
    let mail = &smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    let confirm = json!({"token": mail.token(), "new_password": "a brand new passphrase"});
    let resp = app
        .post_json("/api/v1/auth/password-reset/confirm", confirm)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &theirs.access).await.status(),
        200
    );
    let owner = app.db.owner().await;
    let live = "SELECT count(*) AS n FROM account_tokens WHERE ended_at IS NULL \
                AND dealership_id = '0193a5f0-0000-7000-8000-000000000002'";
    assert_eq!(
        count(&owner, live).await,
        1,
        "Metro Motors' link still works"
    );
    let mm = smtp
        .wait_for(MM_AGENT.email, 1, Duration::from_secs(10))
        .await;
    assert!(mm[0].text().contains("Metro Motors"));
}
