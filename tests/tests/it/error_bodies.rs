//! Every error answer carries the protocol's JSON body (`code` and `message`), whichever part
//! of the server produced it: a handler, the router (404, 405), a layer (415), or hyper itself
//! before any of our code runs (400, 414, 431). Requests are written byte for byte over TCP so
//! that what the server sends back is seen exactly.

use bukti_tests::{Backend, TestServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `request` as is and reads the whole answer (the server closes or the reply ends).
async fn raw(server: &TestServer, request: &[u8]) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    // A server may answer before reading everything we send; keep going regardless.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if complete(&answer) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 20 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), json)
}

/// Whether `answer` holds a whole head and as many body bytes as it declares.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_has_a_json_body() {
    let server = TestServer::start(Backend::Sqlite).await;
    let token = server.admin_token.clone();
    let long_query = "x".repeat(70_000);
    let huge_header = "a".repeat(300 * 1024);
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let push_br = format!(
        "POST /api/v1/sync/push HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-encoding: br\r\ncontent-length: 4\r\n\r\nabcd"
    );
    let cases: Vec<(&str, String, u16)> = vec![
        (
            "unknown route",
            "GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n".into(),
            404,
        ),
        (
            "wrong method on the API",
            format!(
                "DELETE /api/v1/records HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n"
            ),
            405,
        ),
        (
            "wrong method on /healthz",
            "PUT /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".into(),
            405,
        ),
        ("unknown content-encoding", push_br, 415),
        (
            "a URL over hyper's limit",
            format!("GET /api/v1/records?q={long_query} HTTP/1.1\r\nhost: x\r\n\r\n"),
            414,
        ),
        (
            "a header over the head limit",
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {huge_header}\r\n\r\n"),
            431,
        ),
        (
            "too many headers",
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n"),
            431,
        ),
        (
            "a malformed header line",
            "GET /healthz HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n".into(),
            400,
        ),
        ("a malformed request line", "GET\r\n\r\n".into(), 400),
        (
            "a bad method token",
            "G(T /healthz HTTP/1.1\r\nhost: x\r\n\r\n".into(),
            400,
        ),
    ];
    for (what, request, expected) in cases {
        let (status, head, body) = raw(&server, request.as_bytes()).await;
        assert_eq!(status, expected, "{what}: {head}");
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
        assert!(
            body["code"].is_string() && body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: body {body}"
        );
    }
    // The allow header survives the JSON body on a 405.
    let (_, head, body) = raw(
        &server,
        b"PUT /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    assert!(head.contains("allow:"), "{head}");
    assert_eq!(body["code"], "method_not_allowed");
    // And the server still serves.
    let (status, _, body) = raw(
        &server,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    server.finish().await;
}
