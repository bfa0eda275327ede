//! A small TCP proxy on loopback that plays a bad field network between a device and the
//! server: it delays, refuses, stalls, cuts connections after some bytes in either direction and
//! truncates answers, and the fault can be switched while connections are open.
//!
//! The fault is read again for every chunk forwarded, so a connection the HTTP client keeps
//! alive in its pool suffers a fault set after it was opened, as on a real network. Byte limits
//! count per connection from when the connection first met the fault.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    task::JoinHandle,
};

/// What the network does to the bytes going through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass untouched.
    None,
    /// Every chunk, either way, waits this long (a slow, high-latency link).
    Delay(Duration),
    /// Connections are accepted, then closed before anything passes (a dead uplink behind a
    /// working Wi-Fi access point).
    Refuse,
    /// Nothing passes either way and nothing is closed: the client must notice by itself.
    Stall,
    /// The connection is closed once this many bytes went from the device to the server.
    CutUpload(u64),
    /// The connection is closed once this many bytes went from the server to the device.
    CutDownload(u64),
    /// An answer's status line and headers pass, then only this many bytes of its body, and the
    /// connection is closed: the device sees a success with a body cut short.
    Truncate(u64),
}

/// Counts of what the proxy did, for tests to see that faults were met and retried.
#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    faulted: AtomicU64,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, for a device to register with.
    pub url: String,
    fault: Arc<Mutex<Fault>>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let fault = Arc::new(Mutex::new(Fault::None));
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept(listener, target, fault.clone(), counters.clone()));
        Proxy {
            url,
            fault,
            counters,
            task,
        }
    }

    /// Switches the fault; open connections meet it on their next chunk.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().expect("fault lock") = fault;
    }

    /// Back to a healthy network.
    pub fn heal(&self) {
        self.set(Fault::None);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Connections a fault closed, refused or stalled so far.
    pub fn faulted(&self) -> u64 {
        self.counters.faulted.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` connections met a fault (the client retried that often).
    pub async fn wait_faulted(&self, n: u64) {
        while self.faulted() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    counters: Arc<Counters>,
) {
    while let Ok((device, _)) = listener.accept().await {
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let fault = fault.clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(target).await {
                connection(device, server, fault, counters).await;
            }
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
}

/// What one chunk read from one side becomes.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// Forward this many bytes of the chunk, after waiting this long.
    Forward(usize, Duration),
    /// Forward this many bytes of the chunk, then close the connection.
    ForwardAndClose(usize),
    /// Drop the chunk and keep the connection open.
    Swallow,
}

/// Per connection and direction: what has passed since the connection first met a fault.
#[derive(Debug, Default)]
struct Flow {
    sent: u64,
    /// For `Truncate`: the body bytes allowed once the end of the headers is seen.
    body_left: Option<u64>,
    /// The last bytes of the previous chunk, so a header end split across chunks is found.
    tail: Vec<u8>,
}

impl Flow {
    /// The pure decision for one chunk under `fault`.
    fn action(&mut self, fault: Fault, direction: Direction, chunk: &[u8]) -> Action {
        let n = chunk.len();
        let limited = |sent: u64, limit: u64| {
            let allowed = usize::try_from(limit.saturating_sub(sent)).unwrap_or(usize::MAX);
            if allowed >= n {
                Action::Forward(n, Duration::ZERO)
            } else {
                Action::ForwardAndClose(allowed)
            }
        };
        let action = match (fault, direction) {
            (Fault::None, _) => return Action::Forward(n, Duration::ZERO),
            (Fault::Delay(d), _) => return Action::Forward(n, d),
            (Fault::Refuse, _) => Action::ForwardAndClose(0),
            (Fault::Stall, _) => Action::Swallow,
            (Fault::CutUpload(limit), Direction::Upload)
            | (Fault::CutDownload(limit), Direction::Download) => limited(self.sent, limit),
            (Fault::Truncate(body), Direction::Download) => match self.body_left {
                Some(left) => limited(0, left),
                None => match self.header_end(chunk) {
                    Some(end) => {
                        let body_here = (n - end) as u64;
                        if body_here <= body {
                            self.body_left = Some(body - body_here);
                            return Action::Forward(n, Duration::ZERO);
                        }
                        let allowed = usize::try_from(body).unwrap_or(usize::MAX);
                        Action::ForwardAndClose(end + allowed)
                    }
                    None => Action::Forward(n, Duration::ZERO),
                },
            },
            _ => Action::Forward(n, Duration::ZERO),
        };
        if let Action::Forward(k, _) = action {
            self.sent += k as u64;
            if let Some(left) = &mut self.body_left {
                *left = left.saturating_sub(k as u64);
            }
        }
        action
    }

    /// Where in `chunk` the first answer's headers end (just past the blank line), if they do.
    fn header_end(&mut self, chunk: &[u8]) -> Option<usize> {
        const END: &[u8] = b"\r\n\r\n";
        let mut window = std::mem::take(&mut self.tail);
        let carried = window.len();
        window.extend_from_slice(chunk);
        let found = window
            .windows(END.len())
            .position(|w| w == END)
            .map(|at| at + END.len() - carried);
        let keep = window.len().min(END.len() - 1);
        self.tail = window[window.len() - keep..].to_vec();
        found
    }
}

async fn connection(
    device: TcpStream,
    server: TcpStream,
    fault: Arc<Mutex<Fault>>,
    counters: Arc<Counters>,
) {
    let (device_read, device_write) = device.into_split();
    let (server_read, server_write) = server.into_split();
    let faulted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pump = |direction, from, to| {
        pump(
            direction,
            from,
            to,
            fault.clone(),
            faulted.clone(),
            counters.clone(),
        )
    };
    // Whichever side ends first ends both: a cut closes the device's socket too.
    tokio::select! {
        () = pump(Direction::Upload, device_read, server_write) => {}
        () = pump(Direction::Download, server_read, device_write) => {}
    }
}

async fn pump(
    direction: Direction,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    fault: Arc<Mutex<Fault>>,
    faulted: Arc<std::sync::atomic::AtomicBool>,
    counters: Arc<Counters>,
) {
    let mut flow = Flow::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        let current = *fault.lock().expect("fault lock");
        if current == Fault::None {
            // A healed network forgets what the fault counted.
            flow = Flow::default();
        }
        let action = flow.action(current, direction, &buf[..n]);
        if !matches!(action, Action::Forward(_, _)) && !faulted.swap(true, Ordering::SeqCst) {
            counters.faulted.fetch_add(1, Ordering::SeqCst);
        }
        match action {
            Action::Forward(k, wait) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                if to.write_all(&buf[..k]).await.is_err() {
                    return;
                }
            }
            Action::ForwardAndClose(k) => {
                let _ = to.write_all(&buf[..k]).await;
                return;
            }
            Action::Swallow => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789";

    #[test]
    fn cuts_count_bytes_in_their_own_direction_only() {
        let mut up = Flow::default();
        assert_eq!(
            up.action(Fault::CutUpload(5), Direction::Upload, b"abc"),
            Action::Forward(3, Duration::ZERO)
        );
        assert_eq!(
            up.action(Fault::CutUpload(5), Direction::Upload, b"defg"),
            Action::ForwardAndClose(2)
        );
        let mut down = Flow::default();
        assert_eq!(
            down.action(Fault::CutUpload(5), Direction::Download, b"abcdefgh"),
            Action::Forward(8, Duration::ZERO)
        );
    }

    #[test]
    fn truncation_keeps_the_headers_and_cuts_the_body() {
        let headers = ANSWER.len() - 10;
        let mut flow = Flow::default();
        assert_eq!(
            flow.action(Fault::Truncate(4), Direction::Download, ANSWER),
            Action::ForwardAndClose(headers + 4)
        );
        // Headers split across chunks, the blank line itself split too.
        let mut flow = Flow::default();
        let (first, rest) = ANSWER.split_at(headers - 2);
        assert_eq!(
            flow.action(Fault::Truncate(4), Direction::Download, first),
            Action::Forward(first.len(), Duration::ZERO)
        );
        assert_eq!(
            flow.action(Fault::Truncate(4), Direction::Download, rest),
            Action::ForwardAndClose(2 + 4)
        );
    }

    #[test]
    fn refuse_stall_and_delay() {
        let mut flow = Flow::default();
        assert_eq!(
            flow.action(Fault::Refuse, Direction::Upload, b"GET"),
            Action::ForwardAndClose(0)
        );
        assert_eq!(
            flow.action(Fault::Stall, Direction::Download, b"x"),
            Action::Swallow
        );
        let d = Duration::from_millis(7);
        assert_eq!(
            flow.action(Fault::Delay(d), Direction::Upload, b"ab"),
            Action::Forward(2, d)
        );
    }
}
