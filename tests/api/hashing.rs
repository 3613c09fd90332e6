//! argon2id runs on the blocking pool behind a semaphore: a storm of logins does not stall the
//! async workers.

use crate::helpers::{PA_AGENT, PA_PRINCIPAL, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_still_answers_while_eight_logins_hash() {
    let app = spawn_app().await;
    let me = app
        .login_ok(PA_PRINCIPAL.email, PA_PRINCIPAL.password)
        .await;
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/v1/auth/login");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"email": PA_AGENT.email, "password": PA_AGENT.password}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let answered = app.get_as("/api/v1/auth/me", &me.access).await;
    assert_eq!(
        answered.status(),
        200,
        "/auth/me completes during the hashing"
    );
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
}
