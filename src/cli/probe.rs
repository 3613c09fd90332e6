//! `dealergate healthcheck`: the container's HEALTHCHECK without curl in the image.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::Settings;

/// GETs `/healthz` on the configured listen port of this host; an error unless it is 200.
pub async fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    let mut target = settings.listen;
    if target.ip().is_unspecified() {
        target = SocketAddr::from(([127, 0, 0, 1], target.port()));
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(target).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = vec![0; 64];
        let read = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..read]).into_owned())
    };
    let head = tokio::time::timeout(Duration::from_secs(3), probe)
        .await
        .context("no answer within 3 s")?
        .with_context(|| format!("connecting to {target}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("unhealthy: {}", head.lines().next().unwrap_or_default());
    }
    println!("healthy");
    Ok(())
}
