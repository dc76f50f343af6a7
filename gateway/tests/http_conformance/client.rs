//! The raw client: sends a case's bytes on a fresh connection and reads
//! the responses, each within a timeout, so a case that hangs fails with a
//! message instead of hanging the suite.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one response may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(2500);
/// After the expected responses: how long to watch for an extra one.
const QUIET: Duration = Duration::from_millis(30);

/// What the client got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// Final statuses, in order (1xx interim responses left out).
    pub statuses: Vec<u16>,
    /// What went wrong reading, if anything (timeout, garbage).
    pub problem: Option<String>,
}

/// Sends `raw` and reads `expected` responses, then watches briefly for more.
pub async fn exchange(addr: SocketAddr, raw: &[u8], expected: usize) -> Got {
    let mut got = Got {
        statuses: Vec::new(),
        problem: None,
    };
    let mut s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            got.problem = Some(format!("connect: {e}"));
            return got;
        }
    };
    // The server may answer and close before reading everything.
    let _ = s.write_all(raw).await;
    let mut buf = Vec::new();
    loop {
        let wait = if got.statuses.len() < expected {
            RESPONSE_TIMEOUT
        } else {
            QUIET
        };
        match read_response(&mut s, &mut buf, wait).await {
            Ok(Some(status)) => got.statuses.push(status),
            Ok(None) => return got,
            Err(Problem::Quiet) if got.statuses.len() >= expected => return got,
            Err(Problem::Quiet) => {
                got.problem = Some(format!(
                    "no response {} within {RESPONSE_TIMEOUT:?}",
                    got.statuses.len() + 1
                ));
                return got;
            }
            Err(Problem::Bad(why)) => {
                got.problem = Some(why);
                return got;
            }
        }
    }
}

enum Problem {
    /// Nothing arrived in time.
    Quiet,
    Bad(String),
}

/// `Ok(true)`: more bytes; `Ok(false)`: closed.
async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, wait: Duration) -> Result<bool, Problem> {
    let mut chunk = [0u8; 16384];
    match tokio::time::timeout(wait, s.read(&mut chunk)).await {
        Err(_) => Err(Problem::Quiet),
        // a reset after the server answered counts as a close
        Ok(Err(_)) | Ok(Ok(0)) => Ok(false),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// One final response (interim ones skipped); `Ok(None)`: closed first.
async fn read_response(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    wait: Duration,
) -> Result<Option<u16>, Problem> {
    loop {
        let end = loop {
            if let Some(i) = find(buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !fill(s, buf, wait).await? {
                return if buf.is_empty() {
                    Ok(None)
                } else {
                    Err(Problem::Bad(format!(
                        "closed inside a response head: {}",
                        super::cases::escape(buf)
                    )))
                };
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let status: u16 = head
            .strip_prefix("HTTP/1.")
            .and_then(|h| h.get(2..5))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Problem::Bad(format!("not a status line: {head:?}")))?;
        if (100..200).contains(&status) {
            continue;
        }
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        if status == 204 || status == 304 {
            return Ok(Some(status));
        }
        if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                // responses are the gateway's own or re-framed: no need to be strict
                if let Some(i) = find(buf, b"0\r\n\r\n") {
                    buf.drain(..i + 5);
                    return Ok(Some(status));
                }
                if !fill(s, buf, RESPONSE_TIMEOUT).await? {
                    return Err(Problem::Bad("closed inside a chunked response".into()));
                }
            }
        }
        let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) else {
            // until close
            while fill(s, buf, RESPONSE_TIMEOUT).await? {}
            buf.clear();
            return Ok(Some(status));
        };
        while buf.len() < n {
            if !fill(s, buf, RESPONSE_TIMEOUT).await? {
                return Err(Problem::Bad("closed inside a response body".into()));
            }
        }
        buf.drain(..n);
        return Ok(Some(status));
    }
}

/// Whether something listens on `addr` (to wait for nginx to start).
pub async fn connects(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_ok()
}
