//! The lockout in time: a lock lifts after `auth.lockout.lock_secs`, and failures older than
//! `auth.lockout.window_secs` no longer count toward one (short settings, a few seconds' wait).

use std::time::Duration;

use crate::helpers::{PA_AGENT, assert_locked, error_of, spawn_app_with};

#[tokio::test]
async fn a_lock_lifts_after_lock_secs() {
    let app = spawn_app_with(|s| {
        crate::lockout::three_strikes(s);
        s.auth.lockout.lock_secs = 2;
    })
    .await;
    for wrong in ["wrong-1", "wrong-2", "wrong-3"] {
        error_of(app.login(PA_AGENT.email, wrong).await, 401).await;
    }
    let retry_after = assert_locked(app.login(PA_AGENT.email, "wrong-4").await).await;
    assert!(
        retry_after <= 2,
        "Retry-After within the lock: {retry_after}"
    );
    // locked: the right password too
    error_of(app.login(PA_AGENT.email, PA_AGENT.password).await, 429).await;

    tokio::time::sleep(Duration::from_millis(2_600)).await;
    // the lock has lifted: the right password signs in
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
}

#[tokio::test]
async fn failures_older_than_the_window_no_longer_count() {
    let app = spawn_app_with(|s| {
        crate::lockout::three_strikes(s);
        s.auth.lockout.window_secs = 2;
    })
    .await;
    for wrong in ["wrong-1", "wrong-2"] {
        error_of(app.login(PA_AGENT.email, wrong).await, 401).await;
    }
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    // two more: four in all, but only two in the window, so no lock (the third in one window
    // would lock, and the next attempt would be 429)
    for wrong in ["wrong-3", "wrong-4"] {
        error_of(app.login(PA_AGENT.email, wrong).await, 401).await;
    }
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;

    // while three within one window do lock
    for wrong in ["wrong-5", "wrong-6", "wrong-7"] {
        error_of(app.login(PA_AGENT.email, wrong).await, 401).await;
    }
    assert_locked(app.login(PA_AGENT.email, PA_AGENT.password).await).await;
}
