//! Request heads: parsed with `httparse` (the parser hyper uses) into the
//! `http` types the routing code reads, plus what the connection loop
//! needs to know: body framing, keep-alive, `Expect: 100-continue`, and
//! whether the native engine serves the request at all (see
//! [`super`] for the fallback cases).

use std::mem::MaybeUninit;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Uri, Version};

use crate::proxy::transfer_coding::{self, CodingError};

/// Most header lines in a request head; more is answered 431.
const MAX_HEADERS: usize = 100;

/// The HTTP/2 connection preface (h2c with prior knowledge).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// How a message body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, re-framed on the way ([`super::chunked`]).
    Chunked,
    /// Until the peer closes (responses only).
    UntilClose,
}

/// A parsed request head.
#[derive(Debug)]
pub struct RequestHead {
    /// Method, target, headers (version is always HTTP/1.1 here).
    pub parts: Parts,
    /// How the body is delimited.
    pub framing: Framing,
    /// The client did not ask to close after this request.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
    /// Length of the head in the read buffer.
    pub len: usize,
}

/// Why a request head is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// Not HTTP/1.1 syntax.
    #[error("the request head is malformed")]
    Malformed,
    /// Longer than the limit, or too many header lines.
    #[error("the request head is too large")]
    TooLarge,
    /// A `Transfer-Encoding` refused by [`crate::proxy::transfer_coding`].
    #[error(transparent)]
    Coding(#[from] CodingError),
    /// The target has a `#` fragment, which the `http` crate would drop
    /// silently (RFC 9112 section 3.2: no request-target form has one).
    #[error("the request target has a fragment")]
    Fragment,
}

/// What the buffer holds.
#[derive(Debug)]
pub enum Parsed {
    /// Not a whole head yet.
    Partial,
    /// A head the native engine serves.
    Head(Box<RequestHead>),
    /// A request the native engine leaves to hyper (the reason, for logs).
    Fallback(&'static str),
}

/// Parses the request head at the start of `buf`, without consuming it
/// (a fallback replays the same bytes to hyper).
pub fn parse(buf: &[u8], max_head: usize) -> Result<Parsed, HeadError> {
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] {
        return Ok(if n == H2_PREFACE.len() {
            Parsed::Fallback("h2c prior knowledge")
        } else {
            Parsed::Partial
        });
    }
    // Uninitialised slots: no 3 KiB of zeroes per parse.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) if len <= max_head => len,
        Ok(httparse::Status::Complete(_)) | Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::TooLarge)
        }
        Ok(httparse::Status::Partial) if buf.len() >= max_head => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(_) => return Err(HeadError::Malformed),
    };
    if req.version != Some(1) {
        return Ok(Parsed::Fallback("HTTP/1.0"));
    }
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| HeadError::Malformed)?;
    if method == Method::CONNECT {
        return Ok(Parsed::Fallback("CONNECT"));
    }
    let target = req.path.unwrap_or("");
    if target.contains('#') {
        return Err(HeadError::Fragment);
    }
    if !target.starts_with('/') {
        return Ok(Parsed::Fallback("absolute-form or asterisk target"));
    }
    let uri: Uri = target.parse().map_err(|_| HeadError::Malformed)?;
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    let mut length: Option<u64> = None;
    let mut keep_alive = true;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| HeadError::Malformed)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| HeadError::Malformed)?;
        if name == header::CONTENT_LENGTH {
            let n = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(HeadError::Malformed)?;
            if length.is_some_and(|l| l != n) {
                return Ok(Parsed::Fallback("conflicting Content-Length"));
            }
            length = Some(n);
        } else if name == header::CONNECTION {
            for token in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return Ok(Parsed::Fallback("Connection: upgrade"));
                }
            }
        } else if name == header::UPGRADE {
            return Ok(Parsed::Fallback("Upgrade"));
        } else if name == header::EXPECT {
            if !h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
                return Ok(Parsed::Fallback("Expect other than 100-continue"));
            }
            expect_continue = true;
        }
        headers.append(name, value);
    }
    let chunked = transfer_coding::check(
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
            .map(|h| h.value),
    )?;
    let framing = match (chunked, length) {
        (true, Some(_)) => return Ok(Parsed::Fallback("Content-Length with chunked")),
        (true, None) => Framing::Chunked,
        (false, Some(0) | None) => Framing::Empty,
        (false, Some(n)) => Framing::Length(n),
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    parts.headers = headers;
    Ok(Parsed::Head(Box::new(RequestHead {
        parts,
        framing,
        keep_alive,
        expect_continue,
        len,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> RequestHead {
        match parse(raw, 4096) {
            Ok(Parsed::Head(h)) => *h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_method_target_headers_and_framing() {
        let raw = b"POST /fhir/Patient?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello";
        let h = head(raw);
        assert_eq!(h.parts.method, Method::POST);
        assert_eq!(h.parts.uri.path(), "/fhir/Patient");
        assert_eq!(h.parts.uri.query(), Some("x=1"));
        assert_eq!(h.parts.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(h.framing, Framing::Length(5));
        assert_eq!(h.len, raw.len() - 5);
        assert!(h.keep_alive && !h.expect_continue);
    }

    #[test]
    fn chunked_close_and_continue() {
        let h = head(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        assert!(!h.keep_alive && h.expect_continue);
    }

    #[test]
    fn partial_garbage_and_limits() {
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHo", 4096),
            Ok(Parsed::Partial)
        ));
        assert!(matches!(parse(b"PRI * HTTP", 4096), Ok(Parsed::Partial)));
        assert_eq!(
            parse(b"\x16\x03\x01garbage\r\n\r\n", 4096).err(),
            Some(HeadError::Malformed)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 4096).err(),
            Some(HeadError::Malformed)
        );
        assert_eq!(
            parse(b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 4096).err(),
            Some(HeadError::Fragment)
        );
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(5000));
        assert_eq!(
            parse(long.as_bytes(), 4096).err(),
            Some(HeadError::TooLarge)
        );
    }

    #[test]
    fn transfer_codings_other_than_one_chunked_are_refused() {
        for (raw, want) in [
            (
                &b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"[..],
                CodingError::NotImplemented,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                CodingError::BadFraming,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                CodingError::BadFraming,
            ),
        ] {
            assert_eq!(
                parse(raw, 4096).err(),
                Some(HeadError::Coding(want)),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn unusual_requests_fall_back() {
        for raw in [
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse(raw, 4096), Ok(Parsed::Fallback(_))),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
