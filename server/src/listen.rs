//! Accepting connections: how long a client may take to send its request headers, how many
//! connections one address may hold, and a JSON body on the errors hyper answers by itself.
//!
//! `axum::serve` sets no timer, so a client sending its headers one byte a minute held its
//! connection forever, and a few hundred such clients locked everyone out. Here every HTTP/1
//! connection gets hyper's header read timeout (which also closes idle keep-alive connections),
//! and each client address may hold a bounded number of connections; more are answered `503`
//! and closed at once, so an attack from one address cannot starve `/healthz` or other clients.

mod error_head;

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tower::ServiceExt;

use self::error_head::JsonErrorHeads;

/// How the listener guards itself against slow or greedy clients.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's headers (also the idle keep-alive limit).
    pub header_read_timeout: Duration,
    /// Connections one client address may hold at once; 0 means no limit (behind a reverse
    /// proxy every client has the proxy's address).
    pub per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            per_address: 256,
        }
    }
}

/// Largest request head hyper reads; beyond it hyper answers 431 (with our JSON body).
const MAX_HEAD_BYTES: usize = 256 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let counts = AddressCounts::default();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        // The JSON rewrite of hyper's own error heads needs each head written in one piece.
        .writev(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: keep serving
                    // the connections we have, and try again shortly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = counts.enter(addr.ip(), limits.per_address) else {
            metrics::counter!("bukti_connections_refused_total").increment(1);
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            app.clone()
                .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(addr));
                    req.map(axum::body::Body::new)
                });
        let conn = http.serve_connection(
            TokioIo::new(JsonErrorHeads::new(stream)),
            TowerToHyperService::new(service),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%addr, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over its address's limit and closes it, without waiting long for a
/// client that does not read.
async fn refuse(mut stream: TcpStream) {
    let body = error_head::json_body(
        "too_many_connections",
        "this address holds too many connections to the server; close idle ones and retry",
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 5\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// Open connections per client address.
#[derive(Debug, Default, Clone)]
struct AddressCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl AddressCounts {
    /// A slot for one more connection from `ip`, or `None` when it holds `limit` already.
    fn enter(&self, ip: IpAddr, limit: usize) -> Option<Slot> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(ip).or_default();
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

/// One open connection; dropping it frees its place.
#[derive(Debug)]
struct Slot {
    counts: AddressCounts,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_slots_free_on_drop() {
        let counts = AddressCounts::default();
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let held: Vec<Slot> = (0..3).filter_map(|_| counts.enter(a, 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(
            counts.enter(a, 3).is_none(),
            "a fourth from the same address"
        );
        assert!(
            counts.enter(b, 3).is_some(),
            "another address is not affected"
        );
        drop(held);
        assert!(counts.enter(a, 3).is_some(), "freed when connections close");
        let unlimited: Vec<Slot> = (0..1000).filter_map(|_| counts.enter(a, 0)).collect();
        assert_eq!(unlimited.len(), 1000, "0 means no limit");
    }
}
