//! Connection limits and the operators' listener: a client trickling its headers is cut, a
//! normal keep-alive client is not; metrics and the detailed readiness stay off the public port.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, error_of, exec, spawn_app, spawn_app_with};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads one response with a Content-Length body; `None` if the server closed the connection.
async fn read_response(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&buf[..end + 4 + length]).into_owned());
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_within_the_limit() {
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let trickle = async {
        for byte in b"X-Slow: ".iter().cycle().take(200) {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), trickle)
        .await
        .expect("the trickling client was cut");
    let cut_after = started.elapsed();
    eprintln!("trickling client cut after {cut_after:?}");
    assert!(cut_after < Duration::from_secs(5), "{cut_after:?}");
}

#[tokio::test]
async fn a_keep_alive_client_that_keeps_talking_is_not_cut() {
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;
    let mut stream = connect(&app).await;
    for _ in 0..6 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let resp = read_response(&mut stream)
            .await
            .expect("answered on the same connection");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(|s| {
        s.http.header_timeout_secs = 30;
        s.http.idle_timeout_secs = 1;
    })
    .await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), read_response(&mut stream)).await;
    assert_eq!(closed.expect("closed in time"), None);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn metrics_and_the_detailed_readiness_are_served_to_operators_only() {
    let app = spawn_app().await;
    error_of(app.get("/metrics").await, 404).await;
    let public: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(public, serde_json::json!({"status": "ready"}));
    let ops: serde_json::Value = app.ops("/readyz").await.json().await.unwrap();
    assert_eq!(ops["status"], "ready");
    assert!(ops["policy"]["hash"].is_string(), "{ops}");
    assert_eq!(app.ops("/metrics").await.status(), 200);
    assert_eq!(app.ops("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readiness_is_computed_at_most_about_once_a_second() {
    let app = spawn_app().await;
    assert_eq!(app.ops("/readyz").await.status(), 200);
    exec(
        &app.db.owner().await,
        "ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY",
    )
    .await;
    let flood: Vec<_> = (0..50).map(|_| app.get("/readyz")).collect();
    for resp in futures_util::future::join_all(flood).await {
        assert_eq!(resp.status(), 200, "answered from the last checks");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let public = error_of(app.get("/readyz").await, 503).await;
    assert!(
        public
            .get("details")
            .is_none_or(|d| d.as_array().is_some_and(|a| a.is_empty())),
        "the public port shows no details: {public}"
    );
    let detail = error_of(app.ops("/readyz").await, 503).await;
    assert_eq!(detail["details"][0]["field"], "isolation");
}
