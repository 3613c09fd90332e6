//! The connection loop (hyper, HTTP/1.1 and HTTP/2) under a poem endpoint, with the limits
//! poem's own `Server` cannot set: a deadline for a request's headers (a client trickling header
//! bytes is cut) and an idle timeout, then a graceful drain on shutdown.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use hyper::{body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use poem::{
    Addr, Endpoint, EndpointExt,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_util::task::TaskTracker;

/// Headers hyper parses before refusing a request on its own (without the JSON error body).
const HYPER_MAX_HEADERS: usize = 1000;

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Serves `endpoint` on `listener` until `stop` completes, then stops accepting and gives open
/// connections `grace` to finish their requests.
pub async fn serve(
    listener: TcpListener,
    endpoint: impl Endpoint + 'static,
    limits: Limits,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let endpoint = Arc::new(endpoint.map_to_response());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper's own limit (100) answers a bare 431: parse up to this many, so the middleware's
        // tighter limits answer with the JSON error body
        .max_headers(HYPER_MAX_HEADERS);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let (draining, drain) = watch::channel(false);
    let (closing, close) = watch::channel(false);
    let connections = TaskTracker::new();
    let local = listener.local_addr()?;
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // out of descriptors and the like: back off instead of spinning
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            stream,
            (local, remote),
            endpoint.clone(),
            builder.clone(),
            limits.idle_timeout,
            (drain.clone(), close.clone()),
        ));
    }
    drop(listener);
    let _ = draining.send(true);
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "connections still open after the grace period: closing them"
        );
        let _ = closing.send(true);
        connections.wait().await;
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    (local, remote): (SocketAddr, SocketAddr),
    endpoint: Arc<impl Endpoint<Output = poem::Response> + 'static>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    idle_timeout: Duration,
    (mut drain, mut close): (watch::Receiver<bool>, watch::Receiver<bool>),
) {
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let endpoint = endpoint.clone();
        async move {
            let req = poem::Request::from((
                req,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(remote)),
                Scheme::HTTP,
            ));
            Ok::<_, Infallible>(hyper::Response::from(endpoint.get_response(req).await))
        }
    });
    let (stream, activity) = Watched::new(stream);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let idle = async {
        loop {
            let quiet = activity.quiet_for();
            if quiet >= idle_timeout {
                break;
            }
            tokio::time::sleep(idle_timeout - quiet).await;
        }
    };
    tokio::select! {
        _ = conn.as_mut() => return,
        () = idle => tracing::debug!(%remote, "closing an idle connection"),
        _ = drain.wait_for(|draining| *draining) => {}
    }
    // finish the request in flight, if any, then close; a client that stops reading its
    // response is not waited for beyond the idle timeout, nor past the shutdown's grace period
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn => {}
        () = tokio::time::sleep(idle_timeout) => {}
        _ = close.wait_for(|closing| *closing) => {}
    }
}

/// When a connection last moved a byte either way.
struct Activity {
    started: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// A socket that records its activity for the idle timeout.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    fn new(inner: TcpStream) -> (Self, Arc<Activity>) {
        let activity = Arc::new(Activity {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        });
        let watched = Self {
            inner,
            activity: activity.clone(),
        };
        (watched, activity)
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
