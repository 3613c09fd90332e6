//! Tables that would only grow shrink back: old login counters and long-ended sessions are
//! purged in batches by the background task, and nothing still in use goes with them.

use std::time::Duration;

use crate::helpers::{PA_AGENT, count, exec, spawn_app_with};

#[tokio::test]
async fn expired_counters_and_long_ended_sessions_are_purged_and_nothing_else() {
    let app = spawn_app_with(|s| {
        s.maintenance.purge_interval_secs = 1;
        s.maintenance.purge_batch_size = 2;
        s.maintenance.session_retention_secs = 3600;
    })
    .await;
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(app.login_ok(PA_AGENT.email, PA_AGENT.password).await);
    }
    let owner = app.db.owner().await;
    exec(
        &owner,
        "INSERT INTO login_throttle (key, failures, window_started_at, locked_until)
         SELECT 'account:old' || n || '@example.com', 1, now() - interval '2 hours', NULL
         FROM generate_series(1, 7) n;
         INSERT INTO login_throttle VALUES
           ('account:locked@example.com', 5, now() - interval '2 hours', now() + interval '1 hour'),
           ('account:fresh@example.com', 1, now(), NULL);
         WITH s AS (SELECT id FROM sessions ORDER BY created_at LIMIT 2)
         UPDATE sessions SET expires_at = now() - interval '2 days' WHERE id IN (SELECT id FROM s);
         WITH s AS (SELECT id FROM sessions WHERE expires_at > now() ORDER BY created_at LIMIT 1)
         UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'
         WHERE id IN (SELECT id FROM s);",
    )
    .await;

    let mut left = (0, 0);
    for _ in 0..100 {
        left = (
            count(&owner, "SELECT count(*) AS n FROM login_throttle").await,
            count(&owner, "SELECT count(*) AS n FROM sessions").await,
        );
        if left == (2, 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        left,
        (2, 2),
        "(login counters, sessions) left after the purge"
    );
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM login_throttle WHERE key IN ('account:locked@example.com', 'account:fresh@example.com')").await,
        2,
        "a lock in force and a counter in its window stay"
    );
    // the live session still refreshes; the recently revoked one is kept for a while, refused
    app.refresh_ok(&sessions[3].refresh).await;
    assert_eq!(app.refresh(&sessions[2].refresh).await.status(), 401);
}

#[tokio::test]
async fn sent_mail_and_spent_tokens_are_purged_after_their_retention_and_nothing_pending() {
    let app = spawn_app_with(|s| {
        s.maintenance.purge_interval_secs = 1;
        s.maintenance.mail_retention_secs = 3600;
    })
    .await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!(
            "INSERT INTO mail_outbox (id, dealership_id, kind, recipient, subject, sent_at, failed_at, due_at)
             VALUES (gen_random_uuid(), NULL, 'k', 'old@example.com', 's', now() - interval '2 hours', NULL, now()),
                    (gen_random_uuid(), NULL, 'k', 'gaveup@example.com', 's', NULL, now() - interval '2 hours', now()),
                    (gen_random_uuid(), NULL, 'k', 'recent@example.com', 's', now(), NULL, now()),
                    (gen_random_uuid(), NULL, 'k', 'pending@example.com', 's', NULL, NULL, now() + interval '1 day');
             INSERT INTO account_tokens (id, dealership_id, user_id, purpose, token_hash, bound_to, expires_at, ended_at)
             VALUES (gen_random_uuid(), '{d}', '{u}', 'password_reset', '\\x00', '\\x00', now() - interval '2 hours', NULL),
                    (gen_random_uuid(), '{d}', '{u}', 'password_reset', '\\x00', '\\x00', now() + interval '1 hour', now() - interval '2 hours'),
                    (gen_random_uuid(), '{d}', '{u}', 'password_reset', '\\x00', '\\x00', now() + interval '1 hour', NULL);",
            d = crate::helpers::PREMIUM_AUTO,
            u = PA_AGENT.id
        ),
    )
    .await;
    let mut left = (0, 0);
    for _ in 0..100 {
        left = (
            count(&owner, "SELECT count(*) AS n FROM mail_outbox").await,
            count(&owner, "SELECT count(*) AS n FROM account_tokens").await,
        );
        if left == (2, 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, (2, 1), "(messages, tokens) left after the purge");
    let kept = "SELECT count(*) AS n FROM mail_outbox WHERE recipient IN ('recent@example.com', 'pending@example.com')";
    assert_eq!(
        count(&owner, kept).await,
        2,
        "a recent and a pending message stay"
    );
}
