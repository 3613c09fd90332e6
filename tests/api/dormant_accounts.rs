//! Dormant accounts: a membership nobody uses is mailed a notice, then deactivated by the
//! maintenance pass with its sessions ended and the reason audited; a dealership's last
//! principal is kept and the platform's admins told; activity restarts the clock; a
//! dealership's own setting wins over the configured one, and off is off. Time is driven by
//! moving the activity columns back as the owner, then running the pass.

use std::time::Duration;

use dealergate::{config::Settings, testing::dormant};

use crate::helpers::{
    ADMIN, MM_AGENT, PA_AGENT, PA_PRINCIPAL, PREMIUM_AUTO, TestApp, count, exec,
    smtp::{SmtpServer, mailing_app},
};

/// A server that mails to its own SMTP server and runs the pass only when the test does, with
/// every membership's clock at now (a template database may be days old).
async fn dormancy_app(configure: impl FnOnce(&mut Settings)) -> (TestApp, SmtpServer) {
    let (app, smtp) = mailing_app(|s| {
        s.maintenance.purge_interval_secs = 0;
        configure(s);
    })
    .await;
    exec(
        &app.db.owner().await,
        "UPDATE memberships SET last_active_at = now()",
    )
    .await;
    (app, smtp)
}

/// Moves `who`'s clock back `days`, and their notice (if `noticed`) back past its run.
async fn idle_for(app: &TestApp, who: uuid::Uuid, days: u32, noticed: Option<u32>) {
    let notice = noticed.map_or("NULL".to_owned(), |d| {
        format!("now() - interval '{d} days'")
    });
    exec(
        &app.db.owner().await,
        &format!(
            "UPDATE memberships SET last_active_at = now() - interval '{days} days', \
             dormant_notice_at = {notice} WHERE id = '{who}'"
        ),
    )
    .await;
}

async fn is_active(app: &TestApp, who: uuid::Uuid) -> bool {
    let sql = format!("SELECT count(*) AS n FROM memberships WHERE id = '{who}' AND is_active");
    count(&app.db.owner().await, &sql).await == 1
}

#[tokio::test]
async fn a_dormant_membership_is_mailed_a_notice_once_then_deactivated_and_signed_out() {
    let (app, smtp) = dormancy_app(|s| s.accounts.dormant_after_days = Some(90)).await;
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    idle_for(&app, PA_AGENT.id, 100, None).await;

    let first = dormant::run(&app.state).await.unwrap();
    assert_eq!((first.noticed, first.deactivated), (1, 0));
    let mail = &smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    assert!(
        mail.header("Subject")
            .unwrap()
            .contains("will be deactivated"),
        "{:?}",
        mail.header("Subject")
    );
    assert!(mail.text().contains("unless you sign in"));
    // the notice runs its course: still signed in, and no second notice
    assert_eq!(
        app.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        200
    );
    assert_eq!(dormant::run(&app.state).await.unwrap(), Default::default());

    idle_for(&app, PA_AGENT.id, 100, Some(15)).await;
    let second = dormant::run(&app.state).await.unwrap();
    assert_eq!(second.deactivated, 1);
    assert!(!is_active(&app, PA_AGENT.id).await);
    assert_eq!(
        app.get_as("/api/v1/auth/me", &tokens.access).await.status(),
        401
    );
    assert_eq!(app.refresh(&tokens.refresh).await.status(), 401);
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.deactivated' \
         AND target_id = '{}' AND changes->>'reason' = 'dormant' \
         AND changes ? 'last_active_at' AND dealership_id = '{PREMIUM_AUTO}'",
        PA_AGENT.id
    );
    assert_eq!(count(&app.db.owner().await, &audited).await, 1);
}

#[tokio::test]
async fn the_last_principal_is_kept_active_and_the_admins_are_told_once() {
    let (app, smtp) = dormancy_app(|s| s.accounts.dormant_after_days = Some(90)).await;
    idle_for(&app, PA_PRINCIPAL.id, 100, Some(15)).await;

    let done = dormant::run(&app.state).await.unwrap();
    assert_eq!((done.deactivated, done.kept), (0, 1));
    assert!(is_active(&app, PA_PRINCIPAL.id).await);
    let told = &smtp.wait_for(ADMIN.email, 1, Duration::from_secs(10)).await[0];
    assert!(told.text().contains(PA_PRINCIPAL.email), "{}", told.text());
    assert!(told.text().contains("Premium Auto"));
    assert_eq!(dormant::run(&app.state).await.unwrap().kept, 0, "told once");
    let audited = format!(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'user.dormant_kept' \
         AND target_id = '{}'",
        PA_PRINCIPAL.id
    );
    assert_eq!(count(&app.db.owner().await, &audited).await, 1);
}

#[tokio::test]
async fn a_sign_in_or_a_refresh_restarts_the_clock_and_clears_the_notice() {
    let (app, _smtp) = dormancy_app(|s| s.accounts.dormant_after_days = Some(90)).await;
    let owner = app.db.owner().await;
    let fresh = format!(
        "SELECT count(*) AS n FROM memberships WHERE id = '{}' \
         AND last_active_at > now() - interval '1 minute' AND dormant_notice_at IS NULL",
        PA_AGENT.id
    );
    let tokens = app.login_ok(PA_AGENT.email, PA_AGENT.password).await;

    idle_for(&app, PA_AGENT.id, 100, Some(15)).await;
    app.refresh_ok(&tokens.refresh).await;
    assert_eq!(count(&owner, &fresh).await, 1, "a refresh is activity");

    idle_for(&app, PA_AGENT.id, 100, Some(15)).await;
    app.login_ok(PA_AGENT.email, PA_AGENT.password).await;
    assert_eq!(count(&owner, &fresh).await, 1, "a sign-in is activity");
    assert_eq!(dormant::run(&app.state).await.unwrap(), Default::default());
    assert!(is_active(&app, PA_AGENT.id).await);
}

#[tokio::test]
async fn a_dealerships_own_days_win_and_zero_turns_dormancy_off() {
    // off by default in dev: only Premium Auto's own 30 days apply
    let (app, _smtp) = dormancy_app(|_| {}).await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!("UPDATE dealerships SET dormant_after_days = 30 WHERE id = '{PREMIUM_AUTO}'"),
    )
    .await;
    idle_for(&app, PA_AGENT.id, 40, Some(15)).await;
    idle_for(&app, MM_AGENT.id, 400, Some(15)).await;
    let done = dormant::run(&app.state).await.unwrap();
    assert_eq!(done.deactivated, 1);
    assert!(!is_active(&app, PA_AGENT.id).await);
    assert!(
        is_active(&app, MM_AGENT.id).await,
        "dormancy is off for Metro Motors"
    );

    // on at 90 days, but Premium Auto turned it off
    let (app, _smtp) = dormancy_app(|s| s.accounts.dormant_after_days = Some(90)).await;
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!("UPDATE dealerships SET dormant_after_days = 0 WHERE id = '{PREMIUM_AUTO}'"),
    )
    .await;
    idle_for(&app, PA_AGENT.id, 400, Some(15)).await;
    idle_for(&app, MM_AGENT.id, 400, Some(15)).await;
    let done = dormant::run(&app.state).await.unwrap();
    assert_eq!(done.deactivated, 1);
    assert!(is_active(&app, PA_AGENT.id).await, "Premium Auto is off");
    assert!(!is_active(&app, MM_AGENT.id).await);
}
