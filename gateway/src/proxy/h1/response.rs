//! Upstream response heads: parsed with `httparse` and rewritten straight
//! into the bytes the client gets (hop-by-hop headers and the headers the
//! `Connection` header names dropped, our request id and decision headers
//! set), without building a header map.

use std::mem::MaybeUninit;

use super::request::Framing;
use crate::proxy::headers::is_protected;

/// Most header lines in a response head.
const MAX_HEADERS: usize = 100;

/// Hop-by-hop headers (RFC 9110 section 7.6.1), as `headers::HOP_BY_HOP`.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
];

/// Why an upstream response head is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not a valid HTTP/1.x response head (or framing we cannot follow).
    #[error("the upstream response head is malformed")]
    Malformed,
    /// `Content-Length` over the response limit.
    #[error("the upstream response is larger than the limit")]
    TooLarge,
}

/// Headers the gateway sets on every proxied response.
#[derive(Debug)]
pub struct Extra<'a> {
    /// `(name, value)` pairs replacing any the upstream sent.
    pub set: &'a [(&'a str, &'a [u8])],
    /// The request was `HEAD` (no body whatever the headers say).
    pub head_request: bool,
    /// Close the client connection after this response.
    pub close: bool,
    /// The response body limit.
    pub limit: u64,
}

/// A parsed upstream response.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// Not a whole head yet.
    Partial,
    /// An informational (1xx) response of `len` bytes, to skip.
    Informational(usize),
    /// A final response; the rewritten head is in the output buffer.
    Final(Info),
}

/// What the connection loop needs to know of a final response.
#[derive(Debug, PartialEq, Eq)]
pub struct Info {
    /// The status code.
    pub status: u16,
    /// Length of the head in the upstream read buffer.
    pub len: usize,
    /// How the body is delimited.
    pub framing: Framing,
    /// The upstream connection may carry another request after this one.
    pub reusable: bool,
    /// The client connection closes after this response.
    pub close: bool,
}

/// Parses the response head at the start of `buf`; on a final response,
/// appends the head for the client to `out`.
pub fn parse(
    buf: &[u8],
    max_head: usize,
    extra: &Extra<'_>,
    out: &mut Vec<u8>,
) -> Result<Head, ResponseError> {
    // Uninitialised slots: no 3 KiB of zeroes per parse.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) if len <= max_head => len,
        Ok(httparse::Status::Partial) if buf.len() < max_head => return Ok(Head::Partial),
        _ => return Err(ResponseError::Malformed),
    };
    let status = resp.code.unwrap_or(0);
    if status == 101 || !(100..=999).contains(&status) {
        return Err(ResponseError::Malformed);
    }
    if status < 200 {
        return Ok(Head::Informational(len));
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut upstream_close = resp.version != Some(1);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(ResponseError::Malformed)?;
            if length.is_some_and(|l| l != n) {
                return Err(ResponseError::Malformed);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if chunked || !h.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(ResponseError::Malformed);
            }
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            upstream_close |= tokens(h.value).any(|t| t.eq_ignore_ascii_case(b"close"));
        }
    }
    let bodiless = extra.head_request || status == 204 || status == 304;
    let framing = match (bodiless, chunked, length) {
        (true, ..) => Framing::Empty,
        (false, true, _) => Framing::Chunked,
        (false, false, Some(0)) => Framing::Empty,
        (false, false, Some(n)) if n > extra.limit => return Err(ResponseError::TooLarge),
        (false, false, Some(n)) => Framing::Length(n),
        (false, false, None) => Framing::UntilClose,
    };
    let close = extra.close || framing == Framing::UntilClose;
    // What frames the response toward the client, from the decision above
    // alone: HEAD and 304 keep the upstream's length (it describes the
    // representation), 204 has none.
    let framed = match framing {
        Framing::Chunked => Framed::Chunked,
        Framing::Length(n) => Framed::Length(n),
        Framing::Empty if status == 204 => Framed::None,
        Framing::Empty => length.map_or(Framed::None, Framed::Length),
        Framing::UntilClose => Framed::None,
    };
    write_head(status, resp.reason, resp.headers, framed, extra, close, out);
    Ok(Head::Final(Info {
        status,
        len,
        framing,
        reusable: !upstream_close && framing != Framing::UntilClose,
        close,
    }))
}

/// The framing header written toward the client.
#[derive(Debug, Clone, Copy)]
enum Framed {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither.
    None,
}

/// Writes the client's response head. The upstream's `Content-Length`
/// and `Transfer-Encoding` lines are never copied (`framed` is written
/// instead), and a `Connection` header cannot remove the headers of
/// [`crate::proxy::headers::PROTECTED`] (e.g. `Connection: content-length`
/// leaving a kept-alive response unframed).
fn write_head(
    status: u16,
    reason: Option<&str>,
    headers: &[httparse::Header<'_>],
    framed: Framed,
    extra: &Extra<'_>,
    close: bool,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa3(status).as_slice());
    out.push(b' ');
    let canonical = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    out.extend_from_slice(canonical.or(reason).unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let named: Vec<&[u8]> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| tokens(h.value))
        .filter(|t| !is_protected(t, &[]))
        .collect();
    for h in headers {
        let name = h.name;
        let drop = HOP_BY_HOP.iter().any(|n| name.eq_ignore_ascii_case(n))
            || named
                .iter()
                .any(|n| name.as_bytes().eq_ignore_ascii_case(n))
            || extra.set.iter().any(|(n, _)| name.eq_ignore_ascii_case(n))
            || name.eq_ignore_ascii_case("content-length");
        if !drop {
            line(out, name.as_bytes(), h.value);
        }
    }
    match framed {
        Framed::Length(n) => {
            let mut digits = [0u8; 20];
            line(out, b"content-length", decimal(n, &mut digits));
        }
        Framed::Chunked => line(out, b"transfer-encoding", b"chunked"),
        Framed::None => {}
    }
    for (name, value) in extra.set {
        line(out, name.as_bytes(), value);
    }
    if close {
        line(out, b"connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `name: value\r\n`.
pub fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A three-digit status code as ASCII.
pub fn itoa3(status: u16) -> [u8; 3] {
    let s = status.min(999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}

/// `n` in decimal ASCII, written into `out` (no allocation on the hot path).
pub fn decimal(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// The comma-separated tokens of a header value, trimmed, empty ones left out.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(close: bool) -> Extra<'static> {
        Extra {
            set: &[("x-request-id", b"r1"), ("x-ehrgate-arm", b"stable")],
            head_request: false,
            close,
            limit: 1000,
        }
    }

    #[test]
    fn rewrites_the_head_for_the_client() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, x-hop\r\nx-hop: 1\r\nKeep-Alive: timeout=5\r\nX-Request-Id: upstream\r\nETag: \"1\"\r\n\r\nhello";
        let mut out = Vec::new();
        let head = parse(raw, 4096, &extra(false), &mut out).unwrap();
        assert_eq!(
            head,
            Head::Final(Info {
                status: 200,
                len: raw.len() - 5,
                framing: Framing::Length(5),
                reusable: true,
                close: false
            })
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nETag: \"1\"\r\ncontent-length: 5\r\nx-request-id: r1\r\nx-ehrgate-arm: stable\r\n\r\n"
        );
    }

    #[test]
    fn connection_cannot_unframe_the_response() {
        let raw = b"HTTP/1.1 200 OK\r\nConnection: content-length, x-hop\r\nContent-Length: 5\r\nx-hop: 1\r\n\r\nhello";
        let mut out = Vec::new();
        let Ok(Head::Final(info)) = parse(raw, 4096, &extra(false), &mut out) else {
            panic!()
        };
        assert_eq!((info.framing, info.close), (Framing::Length(5), false));
        // both framings from the upstream: chunked decides, its length goes
        let mut both = Vec::new();
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        let Ok(Head::Final(info)) = parse(raw, 4096, &extra(false), &mut both) else {
            panic!()
        };
        assert_eq!(info.framing, Framing::Chunked);
        let text = String::from_utf8(both).unwrap();
        assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
        assert!(
            !text.to_ascii_lowercase().contains("content-length"),
            "{text}"
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-request-id: r1\r\nx-ehrgate-arm: stable\r\n\r\n"
        );
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let mut out = Vec::new();
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let Ok(Head::Final(info)) = parse(chunked, 4096, &extra(false), &mut out) else {
            panic!()
        };
        assert_eq!(info.framing, Framing::Chunked);
        assert!(String::from_utf8_lossy(&out).contains("transfer-encoding: chunked\r\n"));
        out.clear();
        let eof = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
        let Ok(Head::Final(info)) = parse(eof, 4096, &extra(false), &mut out) else {
            panic!()
        };
        assert_eq!(
            (info.framing, info.reusable, info.close),
            (Framing::UntilClose, false, true)
        );
        let not_modified = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n";
        let Ok(Head::Final(info)) = parse(not_modified, 4096, &extra(false), &mut out) else {
            panic!()
        };
        assert_eq!(info.framing, Framing::Empty);
        assert_eq!(
            parse(
                b"HTTP/1.1 100 Continue\r\n\r\n",
                4096,
                &extra(false),
                &mut out
            ),
            Ok(Head::Informational(25))
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n",
                4096,
                &extra(false),
                &mut out
            ),
            Err(ResponseError::TooLarge)
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                4096,
                &extra(false),
                &mut out
            ),
            Err(ResponseError::Malformed)
        );
        assert_eq!(
            parse(b"nonsense\r\n\r\n", 4096, &extra(false), &mut out),
            Err(ResponseError::Malformed)
        );
    }
}
