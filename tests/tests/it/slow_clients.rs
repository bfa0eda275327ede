//! Slow and greedy clients against a real listener: connections that send their headers a byte
//! at a time are closed after the header timeout, one address cannot hold more than its share of
//! connections (the rest get a JSON 503 at once), and `/healthz` keeps answering other clients
//! throughout. Attackers connect from other loopback addresses (127.0.0.2…), as distinct hosts.

use std::{net::SocketAddr, time::Duration};

use bukti_server::listen::ConnectionLimits;
use bukti_tests::{Backend, TestServer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const TIMEOUT: Duration = Duration::from_secs(2);
const PER_ADDRESS: usize = 40;

async fn connect_from(source: [u8; 4], server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(server).await
}

/// Starts a request and then sends one more header byte every 300 ms, never finishing.
fn slowloris(mut stream: TcpStream) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await
            .is_err()
        {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(b"x").await.is_err() {
                return;
            }
        }
    })
}

/// Whether the server closed `stream` (EOF or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn healthz(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_connection_floods_do_not_lock_others_out() {
    let limits = ConnectionLimits {
        header_read_timeout: TIMEOUT,
        per_address: PER_ADDRESS,
    };
    let server = TestServer::start_limited(Backend::Sqlite, limits).await;
    let client = reqwest::Client::new();

    // A connection that never finishes its headers and an idle one, opened first so that their
    // header timeout runs out while the flood below is checked: the test waits out one timeout
    // in all, not one per check.
    let mut slow = connect_from([127, 0, 0, 20], server.addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    let mut idle = connect_from([127, 0, 0, 21], server.addr)
        .await
        .expect("connect");

    // Ten attacking hosts, each holding its full share of slow connections: 400 in all.
    let mut drips = Vec::new();
    for host in 2..12u8 {
        for _ in 0..PER_ADDRESS {
            let stream = connect_from([127, 0, 0, host], server.addr)
                .await
                .expect("connect");
            drips.push(slowloris(stream));
        }
    }
    // Their next connections are refused at once with a JSON 503.
    for host in 2..12u8 {
        let mut extra = connect_from([127, 0, 0, host], server.addr)
            .await
            .expect("connect");
        let _ = extra
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 503"),
            "host {host}'s connection over its limit: {text:?}"
        );
        assert!(text.contains("\"code\":\"too_many_connections\""), "{text}");
    }
    // Everyone else is served meanwhile.
    for _ in 0..20 {
        assert_eq!(
            healthz(&client, &server.url).await,
            200,
            "during the attack"
        );
    }

    // Slow connections are closed once the header timeout passes, idle keep-alive ones too.
    assert!(
        closed_within(&mut slow, TIMEOUT * 3).await,
        "a connection that never finished its headers was kept open"
    );
    assert!(
        closed_within(&mut idle, TIMEOUT * 3).await,
        "idle connection kept"
    );

    // The drips are cut off the same way (each drip ends when its write fails on the closed
    // connection), after which their hosts may connect again.
    let deadline = tokio::time::Instant::now() + TIMEOUT * 3;
    for drip in &mut drips {
        let cut_off = tokio::time::timeout_at(deadline, drip).await;
        assert!(
            cut_off.is_ok(),
            "slow connections kept open past the header timeout"
        );
    }
    let again = connect_from([127, 0, 0, 2], server.addr).await;
    let mut again = again.expect("connect after the timeout");
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), again.read_to_end(&mut answer)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(healthz(&client, &server.url).await, 200, "after the attack");
    server.finish().await;
}
