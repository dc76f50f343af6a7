//! The recording backend: parses what it receives itself, strictly
//! (RFC 9112: CRLF only, no obs-fold, one framing, canonical enough to be
//! unambiguous), records each request's exact bytes, and answers each
//! with a fixed small response. Anything it cannot parse strictly is
//! recorded as malformed with its raw bytes and the connection closed: a
//! gateway that forwards an ambiguous message fails the case that sent it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The fixed answer.
const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
/// The same for HEAD.
const ANSWER_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
/// A request larger than this is not something any case sends.
const MAX_REQUEST: usize = 1 << 20;
/// The prefix of a body read that ended early.
const ABORTED: &str = "aborted: ";
/// How long the rest of a begun request may take.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Parsed strictly.
    Request {
        /// The head, exactly as received (final CRLF CRLF included).
        head: Vec<u8>,
        /// The body as it came off the wire (chunk framing included).
        wire_body: Vec<u8>,
        /// The payload (chunk framing removed).
        payload: Vec<u8>,
    },
    /// Not strictly parseable: why, and the raw bytes from where it began.
    Malformed(String, Vec<u8>),
    /// A well-formed head whose body ended early (connection closed or
    /// reset): a streaming proxy abandoning a request whose client body
    /// went wrong. The backend must not act on it, and a strict one does
    /// not: it never saw a complete message.
    Aborted(Vec<u8>),
}

/// The backend; stops when dropped (its task holds only the listener).
pub struct Backend {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    pub async fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(serve(s, l.clone()));
            }
        });
        Backend { addr, log, task }
    }

    /// Takes what was recorded since the last call.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.log.lock().expect("log"))
    }
}

async fn serve(mut s: TcpStream, log: Arc<Mutex<Vec<Recorded>>>) {
    let mut buf = Vec::new();
    loop {
        let r = read_request(&mut s, &mut buf).await;
        let head_only =
            matches!(&r, Some(Recorded::Request { head, .. }) if head.starts_with(b"HEAD "));
        let malformed = matches!(r, Some(Recorded::Malformed(..) | Recorded::Aborted(..)));
        match r {
            None => return,
            Some(r) => log.lock().expect("log").push(r),
        }
        if malformed {
            return;
        }
        let answer = if head_only { ANSWER_HEAD } else { ANSWER };
        if s.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// Reads more; `Ok(false)` on a clean end of stream.
async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, idle: bool) -> Result<bool, String> {
    let mut chunk = [0u8; 16384];
    let read = s.read(&mut chunk);
    let n = if idle {
        // between requests the gateway may keep the connection as long as it likes
        read.await.map_err(|e| e.to_string())?
    } else {
        tokio::time::timeout(READ_TIMEOUT, read)
            .await
            .map_err(|_| "timed out inside a request".to_string())?
            .map_err(|e| e.to_string())?
    };
    if buf.len() + n > MAX_REQUEST {
        return Err("request too large".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

/// [`fill`] inside a body: a reset is an abort too.
async fn fill_body(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<bool, String> {
    match fill(s, buf, false).await {
        Err(e) if !e.starts_with("timed out") && !e.starts_with("request too") => {
            Err(format!("{ABORTED}{e}"))
        }
        other => other,
    }
}

/// `None`: the connection ended between requests.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    match read_strict(s, buf).await {
        Ok(Some(r)) => Some(r),
        Ok(None) => None,
        Err(why) if why.starts_with(ABORTED) => Some(Recorded::Aborted(std::mem::take(buf))),
        Err(why) => Some(Recorded::Malformed(why, std::mem::take(buf))),
    }
}

async fn read_strict(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<Recorded>, String> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        let idle = buf.is_empty();
        if !fill(s, buf, idle).await? {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside the head".into())
            };
        }
    };
    let head = buf[..head_end].to_vec();
    let framing = check_head(&head)?;
    let (wire_len, payload) = match framing {
        Framing::Length(n) => {
            while buf.len() < head_end + n {
                if !fill_body(s, buf).await? {
                    return Err(format!("{ABORTED}connection closed inside the body"));
                }
            }
            (n, buf[head_end..head_end + n].to_vec())
        }
        Framing::Chunked => loop {
            match chunked(&buf[head_end..])? {
                Some(done) => break done,
                None => {
                    if !fill_body(s, buf).await? {
                        return Err(format!(
                            "{ABORTED}connection closed inside the chunked body"
                        ));
                    }
                }
            }
        },
    };
    let wire_body = buf[head_end..head_end + wire_len].to_vec();
    buf.drain(..head_end + wire_len);
    Ok(Some(Recorded::Request {
        head,
        wire_body,
        payload,
    }))
}

enum Framing {
    Length(usize),
    Chunked,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9112 sections 3, 5 and 6 with no leniency at all.
fn check_head(head: &[u8]) -> Result<Framing, String> {
    let text = &head[..head.len() - 4];
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for (i, line) in split_crlf(text).into_iter().enumerate() {
        if line.contains(&b'\r') || line.contains(&b'\n') || (i > 0 && line.is_empty()) {
            return Err("bare CR or LF in the head".into());
        }
        if i == 0 {
            request_line(line)?;
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or("header line without a colon")?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| tchar(b)) {
            return Err(format!(
                "bad header name {:?}",
                String::from_utf8_lossy(name)
            ));
        }
        if value
            .iter()
            .any(|&b| b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err("control character in a header value".into());
        }
        let value = value.trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            if length.is_some() || value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return Err("Content-Length not a single decimal".into());
            }
            length = Some(
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or("Content-Length too large")?,
            );
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if chunked || value != b"chunked" {
                return Err("Transfer-Encoding other than one `chunked`".into());
            }
            chunked = true;
        }
    }
    match (chunked, length) {
        (true, Some(_)) => Err("Content-Length and chunked".into()),
        (true, None) => Ok(Framing::Chunked),
        (false, n) => Ok(Framing::Length(n.unwrap_or(0))),
    }
}

/// Lines separated by CRLF (a bare CR or LF stays inside its line).
fn split_crlf(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(i) = find(rest, b"\r\n") {
        lines.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    lines.push(rest);
    lines
}

fn request_line(line: &[u8]) -> Result<(), String> {
    let mut parts = line.split(|&b| b == b' ');
    let (m, t, v) = (parts.next(), parts.next(), parts.next());
    let ok = parts.next().is_none()
        && m.is_some_and(|m| !m.is_empty() && m.iter().all(|&b| tchar(b)))
        && t.is_some_and(|t| !t.is_empty() && t.iter().all(|&b| b.is_ascii_graphic()))
        && v == Some(b"HTTP/1.1");
    if ok {
        Ok(())
    } else {
        Err("bad request line".into())
    }
}

/// A chunked body with canonical framing only: lowercase or uppercase hex
/// without leading zeros, no extensions, trailer fields well formed.
/// `Ok(None)`: not complete yet. `Ok(Some((wire length, payload)))`.
pub fn chunked(wire: &[u8]) -> Result<Option<(usize, Vec<u8>)>, String> {
    let mut at = 0;
    let mut payload = Vec::new();
    loop {
        let Some(end) = find(&wire[at..], b"\r\n") else {
            return Ok(None);
        };
        let line = &wire[at..at + end];
        let size_ok = !line.is_empty()
            && line.iter().all(u8::is_ascii_hexdigit)
            && (line == b"0" || line[0] != b'0')
            && line.len() <= 15;
        if !size_ok {
            return Err(format!(
                "chunk size line {:?}",
                String::from_utf8_lossy(line)
            ));
        }
        let size = usize::from_str_radix(std::str::from_utf8(line).map_err(|e| e.to_string())?, 16)
            .map_err(|e| e.to_string())?;
        at += end + 2;
        if size == 0 {
            loop {
                let Some(end) = find(&wire[at..], b"\r\n") else {
                    return Ok(None);
                };
                let field = &wire[at..at + end];
                at += end + 2;
                if field.is_empty() {
                    return Ok(Some((at, payload)));
                }
                let colon = field
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or("trailer without a colon")?;
                if colon == 0
                    || !field[..colon].iter().all(|&b| tchar(b))
                    || field.contains(&b'\r')
                    || field.contains(&b'\n')
                {
                    return Err("bad trailer field".into());
                }
            }
        }
        if wire.len() < at + size + 2 {
            return Ok(None);
        }
        payload.extend_from_slice(&wire[at..at + size]);
        if &wire[at + size..at + size + 2] != b"\r\n" {
            return Err("chunk data not followed by CRLF".into());
        }
        at += size + 2;
    }
}
