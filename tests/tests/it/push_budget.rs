//! The push memory budget over a real listener: a push's body is read only once the budget
//! has room for it, a push larger than the whole budget holds all of it, a client without a
//! device token is answered at once and never holds any, and the budget comes back when a
//! push ends, even one whose device hung up half way through its body.

use std::time::Duration;

use bukti_server::middleware::PUSH_BUDGET_BYTES;
use bukti_tests::{Backend, TestServer, push_entry};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Bound on every wait below; the server answers each in milliseconds.
const GUARD: Duration = Duration::from_secs(20);

async fn free_bytes(http: &reqwest::Client, url: &str) -> Option<u64> {
    bukti_tests::metrics_text(http, url)
        .await
        .lines()
        .find(|l| l.starts_with("bukti_push_budget_free_bytes"))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Polls `/metrics` until the free budget is `want`.
async fn wait_for_free(http: &reqwest::Client, url: &str, want: u64) {
    let polled = tokio::time::timeout(GUARD, async {
        loop {
            if free_bytes(http, url).await == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let now = free_bytes(http, url).await;
    assert!(
        polled.is_ok(),
        "the free budget stayed {now:?}, expected {want}"
    );
}

/// Starts a push declaring `length` body bytes, sends `sent` of them, and keeps the connection.
async fn start_push(addr: &str, token: Option<&str>, length: usize, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nhost: x\r\n{auth}content-type: application/json\r\n\
         content-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&vec![b' '; sent]).await.expect("body");
    stream
}

#[tokio::test]
async fn pushes_wait_for_the_budget_and_strangers_never_hold_it() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (url, http) = (server.url.clone(), reqwest::Client::new());
    let addr = url.trim_start_matches("http://").to_owned();
    let big = server.raw_device("bali/buleleng/sawan", "87010001").await;
    let other = server.raw_device("bali/buleleng/sawan", "87010002").await;
    let budget = PUSH_BUDGET_BYTES as u64;

    // A push declaring more than the whole budget is admitted alone and holds all of it while
    // its body trickles in.
    let hog = start_push(&addr, Some(&big.token), 2 * PUSH_BUDGET_BYTES, 1024).await;
    wait_for_free(&http, &url, 0).await;

    // Without a device token, a push is refused before its body is waited for or admitted.
    let mut stranger = start_push(&addr, None, 1_000_000, 0).await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(GUARD, stranger.read(&mut answer))
        .await
        .expect("a push without a token is answered at once")
        .expect("read the answer");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(
        free_bytes(&http, &url).await,
        Some(0),
        "the stranger held nothing"
    );

    // A valid push from another device waits for room; it has none until the first push ends.
    let mut doc = other.record_doc("Sambang Desa Sawan");
    let body = serde_json::json!({ "records": [push_entry(&mut doc)] });
    let device = bukti_tests::Hq {
        base: format!("{url}/api/v1"),
        token: other.token.clone(),
        http: reqwest::Client::new(),
    };
    let waiting = tokio::spawn(async move { device.post("/sync/push", &body).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a push was read while the budget was full"
    );
    assert_eq!(free_bytes(&http, &url).await, Some(0));

    // The first device hangs up half way through its body: its share comes back, and the
    // waiting push goes through.
    drop(hog);
    let (status, answer) = tokio::time::timeout(GUARD, waiting)
        .await
        .expect("the waiting push is answered once the budget is free")
        .expect("push task");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    wait_for_free(&http, &url, budget).await;
    server.finish().await;
}
