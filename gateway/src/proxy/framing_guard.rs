//! The native engine's chunked rules on hyper's path: a read-side guard
//! around every connection hyper serves (the `hyper` engine, and
//! connections the native engine hands to hyper), so both engines accept
//! and refuse the same chunked framing.
//!
//! # Why a guard on the bytes
//! hyper's decoder is laxer than RFC 9112 in one place that hurts: inside
//! a trailer line it takes a bare LF as data (`x: 1` LF CRLF is one
//! trailer line to it), then waits for the final CRLF that never comes,
//! so the client got a 504 after the request timeout instead of a 400.
//! The service only ever sees decoded frames, so the check has to sit on
//! the byte stream. The guard follows the client's messages as hyper
//! frames them (the same `httparse` heads, `Transfer-Encoding` as hyper
//! reads it, `Content-Length` bodies skipped without a look) and runs
//! each chunked body through the native engine's [`Reframer`] (its output
//! thrown away). At the first byte the Reframer refuses, the bytes before
//! it are handed to hyper, and the next read fails: hyper's decoder sees a
//! read error inside the body, the request fails with a body error and the
//! client gets a prompt 400 ([`super::error::ProxyError::from_body`]), then
//! the connection closes.
//!
//! # Staying in step with hyper
//! Where the guard cannot be sure where hyper's next message starts it
//! stops looking for the rest of the connection (hyper's own checks still
//! apply): a head it cannot parse or over the head limit (hyper answers
//! 400 / 431 and closes), the h2 preface, `CONNECT` and `Upgrade` (the
//! bytes after them may be a tunnel), a `Transfer-Encoding` whose last
//! coding is not `chunked` or a `Content-Length` hyper would refuse (hyper
//! answers 400 and closes). Whenever the Reframer accepts a body, hyper's
//! decoder ends it at the same byte (same size, extension and CRLF rules,
//! see [`super::h1::chunked`]), so the next head starts where both expect.
//!
//! # Fragments
//! A fragment is no part of a request target (RFC 9112 §3.2), and the
//! native engine answers 400 to one. hyper's URI parser drops `#frag`
//! without a word, so the guard makes the target unparseable instead: a
//! `#` in a request line is handed to hyper as a byte its parser refuses
//! (NUL), and hyper answers 400 and closes, the request never reaching
//! the service. The request line is followed byte by byte as it arrives,
//! so a head split over many reads is caught too.
//!
//! Cost: the head bytes are copied once more and parsed a second time;
//! `Content-Length` payload is only counted. The native engine (the
//! default) does not go through here for the requests it serves.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::h1::chunked::Reframer;

/// hyper's default limit on header lines in a head.
const MAX_HEADERS: usize = 100;
/// The HTTP/2 connection preface's first line.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// Where the guard stands in the client's byte stream.
#[derive(Debug)]
enum State {
    /// Collecting a request head.
    Head(Vec<u8>),
    /// Inside a `Content-Length` body: bytes left.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Box<Reframer>),
    /// No more checks on this connection (see the module doc).
    Off,
    /// The client's framing was refused: every read fails from now on.
    Failed,
}

/// Follows a client's HTTP/1.1 byte stream (see the module doc).
#[derive(Debug)]
pub struct Guard {
    state: State,
    max_head: usize,
    /// Scratch output of the Reframer (never sent anywhere).
    scratch: Vec<u8>,
    /// Where the current head's request line stands.
    line: RequestLine,
}

/// How far the current head's request line has arrived (RFC 9112 §2.2
/// allows empty lines before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestLine {
    /// Only CR / LF so far.
    Leading,
    /// Inside the request line.
    Inside,
    /// The request line ended; the rest of the head follows.
    Done,
}

/// What a `#` in a request line is handed to hyper as: a byte its parser
/// refuses in a target, so it answers 400 (see the module doc).
const FRAGMENT_POISON: u8 = 0;

/// The client's chunked framing is malformed at this offset of the bytes
/// just scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub usize);

// === impl Guard ===

impl Guard {
    /// A guard for a new connection whose heads hyper caps at `max_head`.
    pub fn new(max_head: usize) -> Guard {
        Guard {
            state: State::Head(Vec::new()),
            max_head,
            scratch: Vec::new(),
            line: RequestLine::Leading,
        }
    }

    /// Whether reads must fail now.
    pub fn failed(&self) -> bool {
        matches!(self.state, State::Failed)
    }

    /// Scans bytes just read from the client, in order.
    /// A `#` in a request line is replaced in `bytes` (see the module doc).
    pub fn scan(&mut self, bytes: &mut [u8]) -> Result<(), Refused> {
        let total = bytes.len();
        let mut at = 0;
        while at < total {
            let bytes = &mut bytes[at..];
            match &mut self.state {
                State::Off => return Ok(()),
                State::Failed => return Err(Refused(at)),
                State::Length(left) => {
                    let n = (*left).min(bytes.len() as u64);
                    *left -= n;
                    at += n as usize;
                    if *left == 0 {
                        self.next_head();
                    }
                }
                State::Chunked(reframer) => {
                    self.scratch.clear();
                    let Ok(feed) = reframer.feed(bytes, &mut self.scratch) else {
                        self.state = State::Failed;
                        // The refused byte is somewhere in this slice; the
                        // whole slice is held back (nothing of it is a
                        // next request).
                        return Err(Refused(at));
                    };
                    at += feed.consumed + feed.data;
                    if feed.done {
                        self.next_head();
                    }
                }
                State::Head(buf) => {
                    self.line = poison_fragments(self.line, bytes);
                    buf.extend_from_slice(bytes);
                    let (next, used) = head_framing(buf, self.max_head);
                    // Bytes past the head belong to the body or the next head.
                    at = match used {
                        Some(head_len) => total - (buf.len() - head_len),
                        None => total,
                    };
                    let next_is_head = matches!(next, State::Head(_)) && used.is_some();
                    self.state = next;
                    if next_is_head {
                        self.next_head();
                    }
                }
            }
        }
        Ok(())
    }
}

impl Guard {
    /// The next message's head starts here.
    fn next_head(&mut self) {
        self.state = State::Head(Vec::new());
        self.line = RequestLine::Leading;
    }
}

/// Follows the request line through `bytes` (the next bytes of a head),
/// replacing each `#` in it with [`FRAGMENT_POISON`]; returns where the
/// line stands after them. Bytes past the request line are not touched.
fn poison_fragments(mut line: RequestLine, bytes: &mut [u8]) -> RequestLine {
    for b in bytes.iter_mut() {
        match (line, *b) {
            (RequestLine::Done, _) => break,
            (RequestLine::Leading, b'\r' | b'\n') => {}
            (RequestLine::Inside, b'\n') => line = RequestLine::Done,
            (_, b'#') => {
                *b = FRAGMENT_POISON;
                line = RequestLine::Inside;
            }
            _ => line = RequestLine::Inside,
        }
    }
    line
}

/// What follows the head in `buf`, and the head's length once complete
/// (`None` while more is needed, or when the guard turns off).
fn head_framing(buf: &mut Vec<u8>, max_head: usize) -> (State, Option<usize>) {
    let n = buf.len().min(H2_PREFACE.len());
    if buf[..n] == H2_PREFACE[..n] && n > 0 {
        return if n == H2_PREFACE.len() {
            (State::Off, None)
        } else {
            (State::Head(std::mem::take(buf)), None)
        };
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= max_head => len,
        Ok(httparse::Status::Partial) if buf.len() <= max_head => {
            return (State::Head(std::mem::take(buf)), None)
        }
        _ => return (State::Off, None),
    };
    if req.method == Some("CONNECT") {
        return (State::Off, None);
    }
    let mut te_last: Option<&[u8]> = None;
    let mut length: Option<u64> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("upgrade") {
            return (State::Off, None);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            te_last = Some(h.value);
        } else if h.name.eq_ignore_ascii_case("content-length") {
            // hyper: digits only, every value the same.
            let Some(v) = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
            else {
                return (State::Off, None);
            };
            if length.is_some_and(|l| l != v) {
                return (State::Off, None);
            }
            length = Some(v);
        }
    }
    let next = match te_last {
        // hyper's rule: chunked iff the last line's last coding is chunked.
        Some(v) => {
            let last = v.rsplit(|&b| b == b',').next().unwrap_or(b"");
            if !last.trim_ascii().eq_ignore_ascii_case(b"chunked") || req.version != Some(1) {
                return (State::Off, None);
            }
            State::Chunked(Box::default())
        }
        None => match length {
            Some(n) if n > 0 => State::Length(n),
            _ => State::Head(Vec::new()),
        },
    };
    (next, Some(len))
}

/// An IO whose reads pass through a [`Guard`].
#[derive(Debug)]
pub struct Guarded<I> {
    io: I,
    guard: Guard,
}

impl<I> Guarded<I> {
    /// Guards `io`'s reads; heads are capped at `max_head` by hyper.
    pub fn new(io: I, max_head: usize) -> Self {
        Guarded {
            io,
            guard: Guard::new(max_head),
        }
    }
}

fn refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "malformed chunked framing in the request body",
    )
}

impl<I: AsyncRead + Unpin> AsyncRead for Guarded<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.guard.failed() {
            return Poll::Ready(Err(refused()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        match this.guard.scan(&mut buf.filled_mut()[before..]) {
            Ok(()) => Poll::Ready(Ok(())),
            // Nothing of this read can go to hyper: fail it now (an empty
            // read would be taken for the end of the stream).
            Err(Refused(0)) => {
                buf.set_filled(before);
                Poll::Ready(Err(refused()))
            }
            // Hand over what came before; the next read fails.
            Err(Refused(at)) => {
                buf.set_filled(before + at);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Guarded<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n";

    fn scan_split(bytes: &[u8], cut: usize) -> Result<(), Refused> {
        let mut g = Guard::new(8192);
        let mut bytes = bytes.to_vec();
        let (a, b) = bytes.split_at_mut(cut);
        g.scan(a)?;
        g.scan(b).map_err(|Refused(at)| Refused(at + a.len()))
    }

    #[test]
    fn follows_requests_and_refuses_bad_chunked_framing() {
        let mut ok = HEAD.to_vec();
        ok.extend_from_slice(b"3\r\nabc\r\n0\r\nx: 1\r\n\r\n");
        ok.extend_from_slice(b"POST /y HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\n3\nab");
        ok.extend_from_slice(HEAD);
        ok.extend_from_slice(b"0\r\n\r\n");
        for cut in 0..ok.len() {
            assert_eq!(scan_split(&ok, cut), Ok(()), "cut {cut}");
        }
        let mut bad = HEAD.to_vec();
        bad.extend_from_slice(b"3\r\nabc\r\n0\r\nx: 1\n\r\n");
        let mut g = Guard::new(8192);
        assert!(g.scan(&mut bad).is_err());
        assert!(g.failed());
        // the same bytes after a Content-Length body are payload, not framing
        let mut g = Guard::new(8192);
        assert_eq!(
            g.scan(&mut b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\n\r\n0\n\n\n".to_vec()),
            Ok(())
        );
    }

    #[test]
    fn turns_off_where_hyper_frames_differently_or_not_at_all() {
        for head in [
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
            b"CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n",
            b"GET / HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\n\r\n",
            b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            b"\x16\x03\x01garbage\r\n\r\n",
        ] {
            let mut g = Guard::new(8192);
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(b"zz\n\n");
            assert_eq!(
                g.scan(&mut bytes),
                Ok(()),
                "{}",
                String::from_utf8_lossy(head)
            );
            assert!(matches!(g.state, State::Off));
        }
    }

    /// Scans `bytes` in reads of `step` bytes; returns what hyper was handed.
    fn handed_to_hyper(bytes: &[u8], step: usize) -> Vec<u8> {
        let mut g = Guard::new(8192);
        let mut out = Vec::new();
        for piece in bytes.chunks(step) {
            let mut piece = piece.to_vec();
            g.scan(&mut piece).unwrap();
            out.extend_from_slice(&piece);
        }
        out
    }

    #[test]
    fn a_fragment_in_any_request_line_reaches_hyper_unparseable() {
        // `#` in a header value and in a body is data; the second request's
        // target has a fragment. (hyper refuses that head and closes, so
        // nothing after it matters.)
        let first =
            b"\r\nPOST /a HTTP/1.1\r\nhost: a\r\nx-note: keep#this\r\ncontent-length: 3\r\n\r\na#b";
        let second = b"GET /b?q=1#x HTTP/1.1\r\nhost: a#1\r\n\r\n";
        let mut sent = first.to_vec();
        sent.extend_from_slice(second);
        let marks: Vec<usize> = sent
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'#')
            .map(|(i, _)| i)
            .collect();
        assert_eq!(marks.len(), 4);
        let mut want = sent.clone();
        want[marks[2]] = FRAGMENT_POISON;
        for step in [1, 2, 3, 7, sent.len()] {
            let got = handed_to_hyper(&sent, step);
            let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
            assert_eq!(
                got, want,
                "reads of {step}: first difference at {first_diff:?}"
            );
        }
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let parsed = httparse::Request::new(&mut headers).parse(&want[first.len()..]);
        assert!(parsed.is_err(), "hyper's parser must refuse the target");
        // a fragment in the first request line, after empty lines
        let got = handed_to_hyper(b"\r\n\r\nGET /x#y HTTP/1.1\r\nhost: a\r\n\r\n", 1);
        assert_eq!(got, b"\r\n\r\nGET /x\0y HTTP/1.1\r\nhost: a\r\n\r\n");
    }
}
