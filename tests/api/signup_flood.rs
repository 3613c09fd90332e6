//! One invitation cannot be turned into a hashing flood: a signup checks the invitation, the
//! email and the phone before any hash, and every attempt counts against the invitation's
//! address and the client's IP. A burst with a taken phone hashes nothing, and logins meanwhile
//! keep answering 200 (the hashing queue stays free for them).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PA_AGENT, PA_PRINCIPAL, probes::ServerProcess, smtp::mailing_app};

const INVITEE: &str = "flood.target@premiumauto.com";
const HASHES: &str = "dealergate_password_hashes_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_signups_with_a_taken_phone_hashes_nothing_and_logins_go_on() {
    let (app, smtp) = mailing_app(|_| {}).await;
    let principal = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let invited = app
        .send_as(
            Method::POST,
            "/api/v1/invitations",
            &principal.access,
            json!({"email": INVITEE, "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status(), 201);
    let mail = smtp.wait_for(INVITEE, 1, Duration::from_secs(10)).await;
    let token = mail[0].token();
    // a process of its own, so its hashing counter counts this test's hashes alone
    let server = ServerProcess::replica_of(&app, &[]).await;
    let before = server.metric(HASHES).await;

    let answers: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let until = Instant::now() + Duration::from_secs(3);
    let flood: Vec<_> = (0..70)
        .map(|_| {
            let (client, url, token) = (
                server.client.clone(),
                server.url("/api/v1/auth/signup"),
                token.clone(),
            );
            let answers = answers.clone();
            tokio::spawn(async move {
                while Instant::now() < until {
                    let body = json!({"invitation_token": token, "password": "a long enough passphrase",
                        "first_name": "Flo", "last_name": "Od", "phone": PA_PRINCIPAL.phone});
                    let status = client.post(&url).json(&body).send().await.unwrap().status();
                    let slot = match status.as_u16() {
                        409 => 0,
                        429 => 1,
                        503 => 2,
                        _ => 3,
                    };
                    answers[slot].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut logins = 0;
    while Instant::now() < until {
        let login = server.login(PA_AGENT.email, PA_AGENT.password).await;
        assert_eq!(login.status(), 200, "a login during the burst");
        logins += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in flood {
        task.await.unwrap();
    }
    let [taken, throttled, overloaded, other] =
        [0, 1, 2, 3].map(|i| answers[i].load(Ordering::Relaxed));
    let hashed = server.metric(HASHES).await - before;
    println!(
        "burst: {taken} × 409, {throttled} × 429, {overloaded} × 503, {other} other; \
         {logins} logins; {hashed} hashes"
    );
    assert_eq!((overloaded, other), (0, 0));
    assert!(taken >= 1 && throttled > 100, "the burst was throttled");
    assert!(
        hashed <= logins as f64 + 2.0,
        "{hashed} hashes for {logins} logins: the signups hashed"
    );
    let owner = app.db.owner().await;
    let created = format!("SELECT count(*) AS n FROM users WHERE email = '{INVITEE}'");
    assert_eq!(crate::helpers::count(&owner, &created).await, 0);
}
