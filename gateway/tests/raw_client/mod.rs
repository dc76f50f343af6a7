//! A raw HTTP/1.1 client for tests whose requests an HTTP library would
//! refuse or rewrite (dot segments, backslashes, fragments, forged
//! forwarding headers): bytes in, one `Content-Length`-framed response out.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response as it came off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Raw {
    /// A header's value (the first), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The `details.coding.code` of an OperationOutcome body (panics when
    /// the body is not one).
    pub fn outcome_code(&self) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"));
        assert_eq!(v["resourceType"], "OperationOutcome", "{self:?}");
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Sends `raw` on a new connection and reads one response (3 s at most).
pub async fn exchange(gw: SocketAddr, raw: &[u8]) -> Raw {
    let mut c = TcpStream::connect(gw).await.unwrap();
    c.write_all(raw).await.unwrap();
    let mut buf = Vec::new();
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(&mut c, &mut buf).await;
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {head:?}"));
    let n: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("a response framed by Content-Length: {head:?}"));
    while buf.len() < end + n {
        fill(&mut c, &mut buf).await;
    }
    let body = String::from_utf8_lossy(&buf[end..end + n]).into_owned();
    Raw { status, head, body }
}

/// `GET target` with `Host: gw` and `extra` header lines (each ending in
/// CRLF).
pub async fn get(gw: SocketAddr, target: &str, extra: &str) -> Raw {
    let raw = format!("GET {target} HTTP/1.1\r\nhost: gw\r\n{extra}\r\n");
    exchange(gw, raw.as_bytes()).await
}

async fn fill(c: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 8192];
    match tokio::time::timeout(Duration::from_secs(3), c.read(&mut chunk)).await {
        Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
        other => panic!("no complete response in time: {other:?} after {buf:?}"),
    }
}
