//! A JSON body on the error answers hyper writes by itself.
//!
//! hyper answers a request it cannot parse (a malformed head `400`, a URL too long `414`, headers
//! too large `431`) before any of our code runs, with an empty body. The protocol promises a JSON
//! error on every answer, so the connection's write side recognises such a head (an error status
//! with `content-length: 0`, which no handler of ours ever sends) and writes it again with the
//! JSON body. Everything else passes through untouched.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::bare_status_body;

/// The JSON bytes of an error body.
pub fn json_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&bukti_core::protocol::ErrorBody {
        code: code.to_owned(),
        message: message.to_owned(),
    })
    .unwrap_or_default()
}

/// Longest head hyper writes for its own errors; anything longer is not one of them.
const MAX_OWN_HEAD: usize = 512;

/// An IO stream whose body-less error heads are rewritten with a JSON body.
#[derive(Debug)]
pub struct JsonErrorHeads<T> {
    inner: T,
    /// A rewritten answer not yet fully written.
    pending: Vec<u8>,
    written: usize,
}

impl<T> JsonErrorHeads<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The status of `buf` when it is a whole, body-less error head, as hyper writes for requests it
/// cannot parse.
fn bare_error_status(buf: &[u8]) -> Option<StatusCode> {
    if buf.len() > MAX_OWN_HEAD || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    let status: u16 = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let status = StatusCode::from_u16(status).ok()?;
    let lower = head.to_ascii_lowercase();
    let bare = lower.contains("\r\ncontent-length: 0\r\n") && !lower.contains("\r\ncontent-type:");
    (bare && (status.is_client_error() || status.is_server_error())).then_some(status)
}

/// The same answer with a JSON body; the connection closes after it (hyper closes it too).
fn with_json_body(status: StatusCode) -> Vec<u8> {
    let (code, message) = bare_status_body(status);
    let body = json_body(code, &message);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

impl<T: AsyncWrite + Unpin> JsonErrorHeads<T> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorHeads<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorHeads<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(status) = bare_error_status(buf) {
            self.pending = with_json_body(status);
            // Taken whole: the rewritten answer goes out on this and the following polls.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_error_heads_are_recognised() {
        let bare =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(
            bare_error_status(bare),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_status(ours), None, "has a content type");
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_status(ok), None, "not an error");
        let partial = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n";
        assert_eq!(bare_error_status(partial), None, "not a whole head");
        let body_bytes = b"{\"HTTP/1.1 400 \r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_error_status(body_bytes), None, "body bytes");
    }

    #[test]
    fn the_rewritten_answer_is_json() {
        let out = with_json_body(StatusCode::URI_TOO_LONG);
        let text = String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"));
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(json["code"], "uri_too_long");
    }
}
