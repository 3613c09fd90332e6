//! A TCP proxy between the server under test and PostgreSQL that breaks the way networks and
//! databases break, switchable while the test runs: pass, refuse new connections, cut every
//! open connection, or stall (accept and forward nothing, like a black-holed route).

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::JoinHandle,
};

/// What the proxy does with traffic from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Close every new connection at once (open ones keep working; [`FaultProxy::cut`] them).
    Refuse,
    /// Accept new connections and forward nothing on any connection, new or open, until the
    /// mode changes; bytes already read are held, not lost.
    Stall,
}

pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped by every cut: each connection dies when it sees a newer generation.
    cuts: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a random local port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Pass);
        let (cuts, _) = watch::channel(0u64);
        let accept = tokio::spawn(accept_loop(listener, upstream, mode.clone(), cuts.clone()));
        Self {
            addr,
            mode,
            cuts,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn pass(&self) {
        self.set(Mode::Pass)
    }

    pub fn refuse(&self) {
        self.set(Mode::Refuse)
    }

    /// Kills every open connection, both directions (the client and PostgreSQL each see the
    /// socket close). New connections follow the mode.
    pub fn cut(&self) {
        self.cuts.send_modify(|generation| *generation += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // and every connection with it
        self.cut();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    cuts: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // out of descriptors, say: try again shortly rather than spin
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        // subscribed before the mode is read: a cut made after this point (tests set the
        // mode, then cut) kills the connection, and one made before it came with its mode
        let cut = cuts.subscribe();
        if *mode.borrow() == Mode::Refuse {
            drop(client);
            continue;
        }
        let connection = Connection {
            mode: mode.subscribe(),
            cut,
        };
        tokio::spawn(connection.serve(client, upstream));
    }
}

struct Connection {
    mode: watch::Receiver<Mode>,
    /// Subscribed at accept: the cuts made after that kill this connection.
    cut: watch::Receiver<u64>,
}

impl Connection {
    async fn serve(mut self, client: TcpStream, upstream: SocketAddr) {
        let mode = self.mode.clone();
        let forward = async move {
            let mut waiting = mode.clone();
            // a stalled connection is accepted but goes nowhere until the stall ends
            if !matches!(waiting.wait_for(|m| *m != Mode::Stall).await, Ok(m) if *m == Mode::Pass) {
                return;
            }
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(
                pump(client_read, server_write, mode.clone()),
                pump(server_read, client_write, mode),
            );
        };
        tokio::select! {
            () = forward => {}
            // dropping `forward` drops both sockets: each side sees its connection close
            _ = self.cut.changed() => {}
        }
    }
}

/// Copies `from` to `to`, holding what it read while the proxy is stalled.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if mode.wait_for(|m| *m != Mode::Stall).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
