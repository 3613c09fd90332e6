//! Mail delivery through the transactional outbox: over real SMTP, through an outage, never
//! for a rolled-back change, to `.eml` files without SMTP in dev, refused without SMTP in prod.

use std::time::{Duration, Instant};

use dealergate::{
    config::{Profile, Secret, Settings},
    startup::Application,
    testing::{Scope, outbox},
};
use serde_json::json;

use crate::helpers::{
    PA_AGENT, PREMIUM_AUTO, TestApp, TestDb, count,
    probes::metric_value,
    smtp::{SmtpServer, free_port, notice},
    spawn_app_with, test_settings,
};

async fn app_sending_to(smtp_url: String, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.mail.smtp_url = Some(Secret::new(smtp_url));
        s.mail.public_base_url = Some("https://app.example.com".into());
        s.mail.from = "Dealer Gate <no-reply@dealergate.test>".into();
        s.mail.reply_to = Some("support@dealergate.test".into());
        configure(s);
    })
    .await
}

async fn ask_for_reset(app: &TestApp, email: &str) {
    let resp = app
        .post_json("/api/v1/auth/password-reset", json!({"email": email}))
        .await;
    assert_eq!(resp.status(), 202);
}

#[tokio::test]
async fn a_reset_link_is_delivered_over_smtp_with_the_right_headers() {
    let smtp = SmtpServer::start();
    let app = app_sending_to(smtp.url(), |_| {}).await;
    // metrics are per process, shared with the other tests' servers: compared, not absolute
    let sent_series = "dealergate_mail_sent_total{kind=\"password_reset\"}";
    let sent_before = counter(&app, sent_series).await;
    ask_for_reset(&app, "Agent@PremiumAuto.com").await;

    let mail = &smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    assert_eq!(mail.from, "no-reply@dealergate.test");
    assert_eq!(mail.header("To").as_deref(), Some(PA_AGENT.email));
    assert!(mail.header("From").unwrap().contains("Dealer Gate"));
    assert_eq!(
        mail.header("Reply-To").as_deref(),
        Some("support@dealergate.test")
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Reset your Premium Auto password")
    );
    let text = mail.text();
    assert!(
        text.contains("multipart/alternative"),
        "text and HTML: {text}"
    );
    assert!(
        text.contains("https://app.example.com/console/reset-password?token="),
        "{text}"
    );
    assert!(text.contains("Premium Auto"));
    assert_eq!(mail.token().len(), 80, "a full token: {}", mail.token());

    // once sent, the token leaves the database: bodies and link are cleared
    let owner = app.db.owner().await;
    let sent = "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL \
                AND text_body IS NULL AND html_body IS NULL AND link IS NULL";
    wait_until(|| async { count(&owner, sent).await == 1 }).await;
    assert!(counter(&app, sent_series).await > sent_before);
    let metrics = app.ops("/metrics").await.text().await.unwrap();
    assert!(
        metric_value(&metrics, "dealergate_mail_queue_depth").is_some(),
        "{metrics}"
    );
}

/// The value of a counter `series` on `app`'s metrics (0 before its first event).
async fn counter(app: &TestApp, series: &str) -> f64 {
    let metrics = app.ops("/metrics").await.text().await.unwrap();
    metric_value(&metrics, series).unwrap_or(0.0)
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_is_delivered_when_the_server_returns() {
    let port = free_port();
    let app = app_sending_to(format!("smtp://127.0.0.1:{port}"), |s| {
        s.mail.retry_base_secs = 1;
        s.mail.retry_max_secs = 1;
        s.mail.poll_interval_secs = 1;
    })
    .await;
    ask_for_reset(&app, PA_AGENT.email).await;

    let owner = app.db.owner().await;
    let retried = "SELECT count(*) AS n FROM mail_outbox WHERE attempts >= 2 \
                   AND sent_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL";
    wait_until(|| async { count(&owner, retried).await == 1 }).await;
    // per-process metrics, shared with the other tests' servers: present, and no exact gauge
    let metrics = app.ops("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("dealergate_mail_retried_total{kind=\"password_reset\"}"));
    assert!(
        metric_value(&metrics, "dealergate_mail_queue_depth").is_some(),
        "{metrics}"
    );

    let smtp = SmtpServer::start_on(port);
    let mail = &smtp
        .wait_for(PA_AGENT.email, 1, Duration::from_secs(10))
        .await[0];
    assert!(mail.text().contains("reset-password?token="));
    let sent = "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL";
    wait_until(|| async { count(&owner, sent).await == 1 }).await;
}

#[tokio::test]
async fn a_message_is_given_up_after_the_last_attempt_with_its_error_kept() {
    let app = app_sending_to(format!("smtp://127.0.0.1:{}", free_port()), |s| {
        s.mail.smtp_url = Some(Secret::new(format!(
            "smtp://mailer:smtp-password@127.0.0.1:{}",
            free_port()
        )));
        s.mail.retry_base_secs = 1;
        s.mail.max_attempts = 2;
    })
    .await;
    let failed_series = "dealergate_mail_failed_total{kind=\"password_reset\"}";
    let failed_before = counter(&app, failed_series).await;
    ask_for_reset(&app, PA_AGENT.email).await;
    let owner = app.db.owner().await;
    let failed = "SELECT count(*) AS n FROM mail_outbox WHERE failed_at IS NOT NULL \
                  AND attempts = 2 AND text_body IS NULL AND last_error NOT LIKE '%smtp-password%'";
    wait_until(|| async { count(&owner, failed).await == 1 }).await;
    assert!(counter(&app, failed_series).await > failed_before);
}

#[tokio::test]
async fn a_rolled_back_change_sends_nothing() {
    let smtp = SmtpServer::start();
    let app = app_sending_to(smtp.url(), |_| {}).await;
    let tx = app
        .state
        .db
        .begin(Scope::Dealership(PREMIUM_AUTO))
        .await
        .unwrap();
    outbox::enqueue(&tx, notice(&app, "rolled-back@premiumauto.com"))
        .await
        .unwrap();
    drop(tx);
    let tx = app
        .state
        .db
        .begin(Scope::Dealership(PREMIUM_AUTO))
        .await
        .unwrap();
    outbox::enqueue(&tx, notice(&app, "committed@premiumauto.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    smtp.wait_for("committed@premiumauto.com", 1, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to: Vec<_> = smtp.received().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(to, ["committed@premiumauto.com"]);
    let owner = app.db.owner().await;
    assert_eq!(
        count(&owner, "SELECT count(*) AS n FROM mail_outbox").await,
        1
    );
}

#[tokio::test]
async fn without_smtp_the_dev_profile_writes_one_eml_file_per_message() {
    let app = spawn_app_with(|s| {
        s.profile = Profile::Dev;
        s.mail.smtp_url = None;
        s.mail.public_base_url = None;
    })
    .await;
    ask_for_reset(&app, PA_AGENT.email).await;
    let dir = app.state.settings.mail.outbox_dir.clone();
    let started = Instant::now();
    let file = loop {
        let found = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "eml"));
        if let Some(file) = found {
            break file;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no .eml in {dir:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let eml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("=\r\n", "")
        .replace("=3D", "=");
    assert!(eml.contains("To: agent@premiumauto.com"), "{eml}");
    // dev links land on this server's own console
    let console = format!(
        "http://localhost:{}/console/reset-password?token=",
        app.address.rsplit(':').next().unwrap()
    );
    assert!(eml.contains(&console), "{eml}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn prod_refuses_to_start_without_smtp_or_a_frontend_address() {
    let db = TestDb::new().await;
    let mut settings = test_settings(&db);
    settings.profile = Profile::Prod;
    settings.mail.smtp_url = None;
    let err = Application::build(settings.clone())
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("mail.smtp_url"), "{err:#}");
    settings.mail.smtp_url = Some(Secret::new("smtps://u:p@smtp.example.com".into()));
    settings.mail.public_base_url = None;
    let err = Application::build(settings.clone())
        .await
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("mail.public_base_url"),
        "{err:#}"
    );
    settings.profile = Profile::Dev;
    Application::build(settings)
        .await
        .expect("dev links to the local frontend");
}

/// Polls `check` every 20 ms for up to 15 s.
async fn wait_until<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_committed_message_reaches_smtp_promptly_woken_by_notify_not_the_poll() {
    let smtp = SmtpServer::start();
    // a poll this slow would fail the bound below: only the NOTIFY can wake the sender in time
    let app = app_sending_to(smtp.url(), |s| s.mail.poll_interval_secs = 600).await;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let recipient = format!("latency-{i}@premiumauto.com");
        let message = notice(&app, &recipient);
        let tx = app
            .state
            .db
            .begin(Scope::Dealership(PREMIUM_AUTO))
            .await
            .unwrap();
        outbox::enqueue(&tx, message).await.unwrap();
        tx.commit().await.unwrap();
        let committed = Instant::now();
        let mail = &smtp.wait_for(&recipient, 1, Duration::from_secs(10)).await[0];
        latencies.push(mail.at.saturating_duration_since(committed));
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    println!(
        "commit → SMTP acceptance over 20 messages: median {median:?}, min {:?}, max {:?}",
        latencies[0],
        latencies[latencies.len() - 1]
    );
    assert!(median < Duration::from_secs(1), "median {median:?}");
}

/// An empty outbox has nothing due: the sender then waits for a wake-up or its poll. (It was
/// read as due now — `greatest(NULL, 0)` is 0 — and the sender spun through claim and queue
/// transactions without pause on every replica.)
#[tokio::test]
async fn an_empty_outbox_has_nothing_due_so_the_sender_rests() {
    let db = TestDb::new().await;
    let pool = db.login_pool(2).await;
    let queue = dealergate::testing::outbox::queue(&pool).await.unwrap();
    assert_eq!(queue.depth, 0);
    assert_eq!(queue.next_due_secs, None, "{queue:?}");
}
