//! Database faults, through a proxy between the server and PostgreSQL: the service answers 503
//! fast while the database is gone or silent, recovers without a restart, keeps listening for
//! revocations, and never answers 201 for a user it did not store (nor store one it refused).
//!
//! Each scenario prints its time to fail (first 503) and to recover (first 200) with
//! `eprintln!`; the assertions only use generous bounds.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use dealergate::config::{Secret, Settings};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, PA_AGENT, PREMIUM_AUTO, TestApp, count, error_of, exec, fault_proxy, fault_proxy::Mode,
    spawn_app_behind_proxy,
};

const ACQUIRE_SECS: u64 = 1;
/// What "within the acquire timeout plus a little" allows: generous, so it cannot flake.
const FAIL_WITHIN: Duration = Duration::from_secs(ACQUIRE_SECS + 3);
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

fn fail_fast(settings: &mut Settings) {
    settings.database.acquire_timeout_secs = ACQUIRE_SECS;
    settings.database.connect_timeout_secs = 1;
    settings.database.max_connections = 8;
}

/// A client that gives up long before the test harness would, so a hang fails the test.
fn impatient() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

/// Sends `req`; its status and how long the answer took. A hang or a dropped connection (a
/// panicking handler) fails the test.
async fn timed(req: reqwest::RequestBuilder) -> (reqwest::Response, Duration) {
    let started = Instant::now();
    let resp = req.send().await.expect("an answer, not a hang or a reset");
    (resp, started.elapsed())
}

/// Asks `GET path` until it answers `want`; how long that took. Every other answer must be
/// a 503, never a 500.
async fn until_status(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    token: Option<&str>,
    want: StatusCode,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let mut req = client.get(app.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let (resp, _) = timed(req).await;
        if resp.status() == want {
            return started.elapsed();
        }
        assert_eq!(resp.status(), 503, "{path} while waiting for {want}");
        assert!(
            started.elapsed() < within,
            "{path} not {want} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the replica's LISTEN connection is up; how long that took.
async fn listening(app: &TestApp, within: Duration) -> Duration {
    let started = Instant::now();
    while !app.state.auth.sessions.is_listening() {
        assert!(
            started.elapsed() < within,
            "the LISTEN connection is not up after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// The 503 of api.md: `unavailable`, with the request id.
async fn unavailable(resp: reqwest::Response) {
    let error = error_of(resp, 503).await;
    assert_eq!(error["type"], "unavailable", "{error}");
}

/// A direct replica: same database, no proxy (the other instance a revocation comes from).
async fn direct_replica(app: &TestApp) -> TestApp {
    let url = app.db.login_url();
    app.spawn_replica_with(|s| s.database.url = Secret::new(url))
        .await
}

async fn session_id(app: &TestApp, token: &str) -> String {
    let sessions: Vec<Value> = app
        .get_as("/api/v1/auth/sessions", token)
        .await
        .json()
        .await
        .expect("sessions");
    sessions
        .iter()
        .find(|s| s["current"] == true)
        .and_then(|s| s["id"].as_str())
        .expect("the current session")
        .to_owned()
}

#[tokio::test]
async fn an_authenticated_request_answers_503_not_500_when_the_database_connections_are_cut() {
    let (app, proxy) = spawn_app_behind_proxy(fail_fast).await;
    let client = impatient();
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let (ok, _) = timed(client.get(app.url("/api/v1/users")).bearer_auth(&admin)).await;
    assert_eq!(ok.status(), 200);

    proxy.refuse();
    proxy.cut();
    let (resp, took) = timed(client.get(app.url("/api/v1/users")).bearer_auth(&admin)).await;
    eprintln!("cut: GET /users answered {} after {took:?}", resp.status());
    unavailable(resp).await;
    assert!(took < FAIL_WITHIN, "took {took:?}");
}

/// A database restart or a killed backend leaves dead connections in the pool, which does
/// not ping on checkout: they are replaced while opening the transaction, not reported.
#[tokio::test]
async fn connections_cut_while_the_database_stays_up_cost_no_request() {
    let (app, proxy) = spawn_app_behind_proxy(fail_fast).await;
    let client = impatient();
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let list = || client.get(app.url("/api/v1/users")).bearer_auth(&admin);
    // several pooled connections, all idle
    let warm = futures_util::future::join_all((0..4).map(|_| timed(list()))).await;
    assert!(warm.iter().all(|(resp, _)| resp.status() == 200));

    proxy.cut();
    let (resp, took) = timed(list()).await;
    eprintln!(
        "cut, database up: GET /users answered {} after {took:?}",
        resp.status()
    );
    assert_eq!(resp.status(), 200);
}

/// Refuse + cut, then stall: the same promises for a database that is gone and for one that
/// has gone silent (a black-holed route: nothing comes back, not even a reset).
#[tokio::test]
async fn while_the_database_is_gone_requests_fail_fast_with_503_and_the_service_then_recovers() {
    for fault in [Mode::Refuse, Mode::Stall] {
        gone_then_back(fault).await;
    }
}

async fn gone_then_back(fault: Mode) {
    let (app, proxy) = spawn_app_behind_proxy(fail_fast).await;
    let other = direct_replica(&app).await;
    let client = impatient();
    listening(&app, Duration::from_secs(5)).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let agent = app.login_ok(PA_AGENT.email, PA_AGENT.password).await.access;
    for path in ["/api/v1/users", "/api/v1/auth/me"] {
        let (resp, _) = timed(client.get(app.url(path)).bearer_auth(&admin)).await;
        assert_eq!(resp.status(), 200, "{path} before the fault");
    }

    // a cut closes the LISTEN socket; a silent one is found by the listener's heartbeat
    // (3 s of silence, then 3 s for an answer); until then the cache is trusted, as it would
    // be through any other pause
    let sessions = app.state.auth.sessions.clone();
    let listener_down = tokio::spawn(async move {
        let broken = Instant::now();
        while sessions.is_listening() {
            assert!(broken.elapsed() < Duration::from_secs(10), "never noticed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        broken.elapsed()
    });
    proxy.set(fault);
    if fault == Mode::Refuse {
        proxy.cut();
    }
    let mut first_503 = None;
    // listing needs a transaction; /auth/me the session check; login its own transactions
    let requests = [
        client.get(app.url("/api/v1/users")).bearer_auth(&admin),
        client.get(app.url("/api/v1/auth/me")).bearer_auth(&agent),
        client
            .request(Method::POST, app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&new_user("gone@premiumauto.com")),
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": PA_AGENT.email, "password": PA_AGENT.password})),
        client.get(app.url("/api/v1/users")).bearer_auth(&admin),
    ];
    for req in requests {
        let (resp, took) = timed(req).await;
        first_503.get_or_insert(took);
        assert!(took < FAIL_WITHIN, "{fault:?}: a 503 took {took:?}");
        unavailable(resp).await;
    }
    let (ready, took) = timed(client.get(app.url("/readyz"))).await;
    assert!(took < FAIL_WITHIN, "{fault:?}: /readyz took {took:?}");
    unavailable(ready).await;
    let ops_readyz = format!("{}/readyz", app.ops_address);
    let (report, took) = timed(client.get(&ops_readyz)).await;
    assert!(
        took < FAIL_WITHIN,
        "{fault:?}: the readiness report took {took:?}"
    );
    let error = error_of(report, 503).await;
    assert_eq!(error["details"][0]["field"], "database", "{error}");
    let (alive, _) = timed(client.get(app.url("/healthz"))).await;
    assert_eq!(alive.status(), 200);
    let distrusted = listener_down.await.expect("the listener went down");

    proxy.pass();
    let back = Instant::now();
    let recovered = until_status(
        &app,
        &client,
        "/api/v1/users",
        Some(&admin),
        StatusCode::OK,
        RECOVER_WITHIN,
    )
    .await;
    let ready_again = until_status(
        &app,
        &client,
        "/readyz",
        None,
        StatusCode::OK,
        RECOVER_WITHIN,
    )
    .await;
    listening(&app, RECOVER_WITHIN).await;
    let relistening = back.elapsed();
    eprintln!(
        "{fault:?}: first 503 after {:?}, listener down {distrusted:?} into the fault; after \
         the database came back: first 200 after {recovered:?}, /readyz 200 {ready_again:?} \
         later, listening again {relistening:?} after it came back",
        first_503.unwrap_or_default()
    );
    assert_eq!(
        count(
            &app.db.owner().await,
            "SELECT count(*) AS n FROM users WHERE email = 'gone@premiumauto.com'"
        )
        .await,
        0,
        "a refused create left no row"
    );

    revocations_reach_the_recovered_replica(&app, &other, &admin).await;
    assert!(app.is_serving(), "the server is still running");
}

/// After recovery the proxied replica caches sessions again and drops them on notices: a
/// revocation the other instance makes reaches it well inside the cache TTL.
async fn revocations_reach_the_recovered_replica(app: &TestApp, other: &TestApp, admin: &str) {
    assert!(app.state.settings.auth.session_cache_ttl_secs >= 30);
    let client = impatient();
    let me = |token: &str| {
        client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(token.to_owned())
    };

    // proof that the cache answers: a revocation written without its notice goes unseen…
    let agent = other
        .login_ok(PA_AGENT.email, PA_AGENT.password)
        .await
        .access;
    let sid = session_id(other, &agent).await;
    assert_eq!(timed(me(&agent)).await.0.status(), 200, "cached as live");
    let owner = app.db.owner().await;
    exec(
        &owner,
        &format!("UPDATE sessions SET revoked_at = now() WHERE id = '{sid}'"),
    )
    .await;
    assert_eq!(
        timed(me(&agent)).await.0.status(),
        200,
        "served from the cache"
    );
    // …until the notice arrives on the re-subscribed LISTEN connection
    exec(
        &owner,
        &format!("SELECT pg_notify('dealergate_revocations', 'session:{sid}')"),
    )
    .await;
    let refused = until_refused(&me, &agent).await;

    // and a logout on the other instance ends the admin's token here
    assert_eq!(timed(me(admin)).await.0.status(), 200);
    assert_eq!(
        other.post_as("/api/v1/auth/logout", admin).await.status(),
        204
    );
    let logged_out = until_refused(&me, admin).await;
    eprintln!(
        "after recovery: a NOTIFY refused the cached token after {refused:?}, a logout on \
         the other instance after {logged_out:?}"
    );
}

async fn until_refused(me: &impl Fn(&str) -> reqwest::RequestBuilder, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (resp, _) = timed(me(token)).await;
        if resp.status() == 401 {
            return started.elapsed();
        }
        assert_eq!(resp.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after the revocation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn new_user(email: &str) -> Value {
    json!({"email": email, "password": "a fine passphrase", "first_name": "New",
           "last_name": "Hire", "role": "agent", "dealership_id": PREMIUM_AUTO})
}

/// Many admins' creates while every connection is cut every few tens of milliseconds: each
/// request answered 201 has its row and its audit event, and each other answer is a 503 that
/// left no row behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_created_while_connections_are_cut_are_stored_exactly_when_answered_201() {
    const USERS: usize = 150;
    let (app, proxy) = spawn_app_behind_proxy(fail_fast).await;
    let proxy = Arc::new(proxy);
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let client = impatient();

    let stop = Arc::new(AtomicBool::new(false));
    let chaos = tokio::spawn({
        let (proxy, stop) = (proxy.clone(), stop.clone());
        async move {
            let mut cuts = 0u64;
            while !stop.load(Ordering::SeqCst) {
                // bursts of cuts 20–59 ms apart, varied so they land in every phase of a
                // request, then a calm that lets some transactions finish
                let pause = match cuts % 5 {
                    4 => 250,
                    _ => 20 + (cuts * 37) % 40,
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                proxy.cut();
                cuts += 1;
            }
            cuts
        }
    });
    let started = Instant::now();
    let answers: Vec<(String, StatusCode)> = futures_util::stream::iter(0..USERS)
        .map(|i| {
            let email = format!("cut-{i}@premiumauto.com");
            let req = client
                .post(app.url("/api/v1/users"))
                .bearer_auth(&admin)
                .json(&new_user(&email));
            async move { (email, timed(req).await.0.status()) }
        })
        .buffer_unordered(12)
        .collect()
        .await;
    stop.store(true, Ordering::SeqCst);
    let cuts = chaos.await.expect("chaos task");
    let took = started.elapsed();

    let owner = app.db.owner().await;
    let stored = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT u.email, count(a.id) AS events FROM users u \
             LEFT JOIN audit_events a ON a.target_id = u.id AND a.action = 'user.created' \
             WHERE u.email LIKE 'cut-%' GROUP BY u.email",
        ))
        .await
        .expect("stored users");
    let stored: HashMap<String, i64> = stored
        .iter()
        .map(|row| {
            (
                row.try_get::<String>("", "email").expect("email"),
                row.try_get::<i64>("", "events").expect("events"),
            )
        })
        .collect();
    let created = answers.iter().filter(|(_, s)| *s == 201).count();
    let unavailable = answers.iter().filter(|(_, s)| *s == 503).count();
    eprintln!(
        "cut mid-transaction: {cuts} cuts in {took:?}; {USERS} creates answered \
         {created} × 201, {unavailable} × 503; {} rows stored",
        stored.len()
    );
    for (email, status) in &answers {
        match status.as_u16() {
            201 => assert_eq!(
                stored.get(email),
                Some(&1),
                "{email} answered 201: stored with one user.created event"
            ),
            503 => assert!(
                !stored.contains_key(email),
                "{email} answered 503 but stored"
            ),
            other => panic!("{email} answered {other}"),
        }
    }
    assert!(
        created > 0 && unavailable > 0,
        "the cuts landed and some creates got through"
    );
    assert!(app.is_serving());
}

/// The advisory lock that every COMMIT of a new user waits for (see [`gate_commits`]).
const GATE: i64 = 7_470_001;

/// COMMITs of this database waiting inside PostgreSQL for [`GATE`].
const AT_THE_GATE: &str = "SELECT count(*) AS n FROM pg_stat_activity \
     WHERE datname = current_database() AND query = 'COMMIT' AND state = 'active' \
     AND wait_event_type = 'Lock' AND wait_event = 'advisory'";

/// Installs a deferred trigger that makes every COMMIT of a new user take advisory lock
/// [`GATE`], and takes it first on a connection of the test's own (returned): such a COMMIT has
/// reached PostgreSQL and cannot finish, either way, until the test lets go (or its backend is
/// ended). So a cut made meanwhile is certain to lose the COMMIT's answer.
async fn gate_commits(app: &TestApp) -> sea_orm::DatabaseConnection {
    exec(
        &app.db.owner().await,
        &format!(
            "CREATE FUNCTION gated_commit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN PERFORM pg_advisory_xact_lock({GATE}); RETURN NULL; END $$;
             CREATE CONSTRAINT TRIGGER gated_commit AFTER INSERT ON memberships
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gated_commit();"
        ),
    )
    .await;
    let gate = app.db.owner().await;
    exec(&gate, &format!("SELECT pg_advisory_lock({GATE})")).await;
    gate
}

/// Log output kept in memory, for the lines a test expects the server to write.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What a create whose COMMIT was cut at the gate came to.
struct CutAtTheGate {
    app: TestApp,
    /// Passing again: the server reaches PostgreSQL through it to settle.
    _proxy: fault_proxy::FaultProxy,
    /// Still holds [`GATE`]: the COMMIT waits until it is released or dropped.
    gate: sea_orm::DatabaseConnection,
    owner: sea_orm::DatabaseConnection,
    create: tokio::task::JoinHandle<(reqwest::Response, Duration)>,
}

const AMBIGUOUS: &str = "ambiguous@premiumauto.com";

/// Creates a user and cuts every connection while its COMMIT waits at the gate inside
/// PostgreSQL; the gate stays closed.
async fn create_and_cut_at_the_gate(configure: impl FnOnce(&mut Settings)) -> CutAtTheGate {
    let (app, proxy) = spawn_app_behind_proxy(configure).await;
    let admin = app.login_ok(ADMIN.email, ADMIN.password).await.access;
    let owner = app.db.owner().await;
    let gate = gate_commits(&app).await;
    let create = tokio::spawn(timed(
        impatient()
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&new_user(AMBIGUOUS)),
    ));
    let started = Instant::now();
    while count(&owner, AT_THE_GATE).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no COMMIT waits at the gate"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.cut();
    // the proxy's connections close, the server sees its COMMIT go unanswered; the COMMIT
    // itself still waits in PostgreSQL (its backend does not notice the lost client)
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!create.is_finished(), "answered before the COMMIT ended");
    assert_eq!(
        count(&owner, AT_THE_GATE).await,
        1,
        "the cut landed while the COMMIT waited"
    );
    CutAtTheGate {
        app,
        _proxy: proxy,
        gate,
        owner,
        create,
    }
}

/// The stored user and its `user.created` event (0 or 1).
async fn stored(owner: &impl ConnectionTrait) -> i64 {
    count(
        owner,
        &format!(
            "SELECT count(*) AS n FROM users u JOIN audit_events a \
             ON a.target_id = u.id AND a.action = 'user.created' WHERE u.email = '{AMBIGUOUS}'"
        ),
    )
    .await
}

/// The ambiguous commit: PostgreSQL committed, the acknowledgement was lost with the
/// connection. The server finds out on another connection and answers what happened.
#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_settled_and_answered_201_when_it_committed() {
    // this test's runtime has one thread, and the server runs on it: its log is caught here
    let log = Captured::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish(),
    );
    let cut = create_and_cut_at_the_gate(|s| {
        fail_fast(s);
        // room to let the COMMIT finish before the server would end its backend
        s.database.acquire_timeout_secs = 3;
    })
    .await;
    // the COMMIT goes through now, on a backend whose client is gone
    exec(&cut.gate, &format!("SELECT pg_advisory_unlock({GATE})")).await;
    let (resp, took) = cut.create.await.expect("the request task");
    eprintln!(
        "COMMIT cut at the gate, then let through: {} after {took:?}",
        resp.status()
    );
    assert_eq!(resp.status(), 201);
    assert_eq!(
        stored(&cut.owner).await,
        1,
        "answered 201: the user and its audit event are stored"
    );
    let log = log.text();
    assert!(
        log.contains("COMMIT went unanswered but had committed"),
        "the server settled the lost COMMIT by asking PostgreSQL; its log:\n{log}"
    );
    assert!(cut.app.is_serving());
}

/// A COMMIT that does not finish: the server ends its backend after a grace period, which
/// makes the outcome final (rolled back), and answers 503 with nothing stored.
#[tokio::test]
async fn a_commit_that_hangs_after_its_connection_is_lost_is_ended_and_answered_503() {
    let cut = create_and_cut_at_the_gate(fail_fast).await;
    // the gate stays closed: only the server can end this COMMIT
    let (resp, took) = cut.create.await.expect("the request task");
    eprintln!(
        "COMMIT cut while hanging (ended): {} after {took:?}",
        resp.status()
    );
    unavailable(resp).await;
    assert_eq!(
        count(&cut.owner, AT_THE_GATE).await,
        0,
        "the hanging COMMIT's backend was ended"
    );
    drop(cut.gate);
    assert_eq!(stored(&cut.owner).await, 0, "answered 503: nothing stored");
    assert!(took < Duration::from_secs(10), "settled in {took:?}");
    assert!(cut.app.is_serving());
}
