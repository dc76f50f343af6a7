//! One request on the native engine, in the phases of
//! [`crate::proxy::forward`]: `identify` + `select` (the same code), the
//! upstream head written straight onto a pooled connection, the request
//! body streamed, the response head parsed and rewritten, the response body
//! streamed back, then the access log ([`AccessLog::emit`]) and the
//! connection's fate (reuse, close) on both sides.

use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::uri::Scheme;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::conn::Conn;
use super::pool;
use super::relay::{relay, RelayError};
use super::request::{Framing, RequestHead};
use super::response::{self, line, Extra, Head, Info, ResponseError};
use crate::outcome::FHIR_JSON;
use crate::proxy::error::ProxyError;
use crate::proxy::failover::{self, Arms, Attempt, Failure, Retry, FAILOVER_HEADER};
use crate::proxy::forward::{
    admit, error_outcome, request_id, request_id_of, select, upstream_request, Action, Selected,
};
use crate::proxy::headers::{ARM_HEADER, ROUTE_HEADER};
use crate::proxy::placement::Recorder;
use crate::runtime::state::Snapshot;
use crate::telemetry::access_log::AccessLog;
use crate::upstream::exchange::{exchange, Health, Refused};
use crate::upstream::pool::Upstream;

/// Largest upstream response head accepted.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// A refused request's body is read and dropped (to keep the connection)
/// up to this size; a larger one closes the connection instead.
const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long draining a refused request's body may take.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// Status recorded when the client went away before its request was
/// complete (nginx's convention; nothing is sent).
const CLIENT_CLOSED: u16 = 499;

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close the client connection.
    Close,
    /// Hand the connection (this request's head still unread) to hyper.
    Fallback,
}

/// Where the client's request body stands.
#[derive(Debug, Default)]
struct BodyState {
    /// Reading it has begun (it cannot be read again).
    started: bool,
    /// It was read to its end.
    done: bool,
    /// `100 Continue` was sent.
    continued: bool,
}

/// The request being served.
struct Request<'a> {
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
    request_id: HeaderValue,
    snap: &'a Snapshot,
    body: BodyState,
}

/// How one attempt failed.
enum Fail {
    /// No response at all (connect failed, or the connection closed or
    /// reset before any response byte): retryable for idempotent requests.
    NoResponse { connect: bool },
    /// The upstream failed after the exchange began.
    Upstream,
    /// The upstream's `Content-Length` is over the limit.
    ResponseTooLarge,
    /// The request body is over the limit.
    RequestTooLarge,
    /// The request body's chunked framing is malformed.
    BadBody,
    /// The client went away while sending its body.
    ClientGone,
}

/// Serves the request whose head is at the start of `conn.buf`.
pub async fn serve<I>(conn: &mut Conn<I>, head: RequestHead) -> Next
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let snap = conn.shared.load();
    let RequestHead {
        mut parts,
        framing,
        keep_alive,
        expect_continue,
        len,
    } = head;
    let request_id = request_id(&parts, &snap);
    let mut log = AccessLog::new(
        request_id.clone(),
        parts.method.clone(),
        start,
        conn.shared.telemetry.clone(),
    );
    let selected = crate::proxy::method_rules::check(&parts.method)
        .and_then(|()| crate::proxy::host::normalise(&mut parts))
        .and_then(|()| admit(&snap, &conn.client, &mut parts))
        .and_then(|()| select(&snap, &parts, &request_id, &mut log));
    // Facade routes and TLS upstreams are hyper's; nothing is consumed or
    // recorded yet, so hyper serves this request from its first byte.
    let pass = match selected {
        Ok(Selected {
            upstream,
            decision_headers,
            action:
                Action::Pass {
                    path_and_query,
                    tenant,
                },
            mut arms,
            recorder,
            ..
        }) if upstream.scheme == Scheme::HTTP => {
            // This engine speaks plain HTTP only: an alternate behind TLS
            // is out of its reach (the request is not moved there).
            arms.keep_alternate_if(|u| u.scheme == Scheme::HTTP, &snap);
            Ok((arms, recorder, decision_headers, path_and_query, tenant))
        }
        Ok(_) => return Next::Fallback,
        Err(err) => Err(err),
    };
    conn.buf.advance(len);
    let span = log.span();
    let mut req = Request {
        framing,
        keep_alive,
        expect_continue,
        request_id,
        snap: &snap,
        body: BodyState::default(),
    };
    let next = match pass {
        Ok((mut arms, recorder, decision_headers, pq, tenant)) => {
            upstream_request(&snap, &conn.client, &mut parts, tenant, &req.request_id);
            let fwd = forward(
                conn,
                &mut req,
                (&mut arms, recorder.as_ref()),
                &parts,
                &pq,
                decision_headers,
                &mut log,
            );
            // Entering a disabled span on every poll is measurable per request.
            if span.is_disabled() {
                fwd.await
            } else {
                tracing::Instrument::instrument(fwd, span.clone()).await
            }
        }
        Err(err) => answer(conn, &mut req, &err, &mut log).await,
    };
    log.record_on(&span);
    next
}

/// Answers a request head that could not be parsed (400) or is too large
/// (431), then the connection closes: where the next request starts is
/// unknown. Like hyper, no access-log line (there is no request to name).
pub async fn refuse_head<I>(conn: &mut Conn<I>, err: &ProxyError)
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let snap = conn.shared.load();
    let request_id = request_id_of(&http::HeaderMap::new(), &snap);
    let (status, body) = error_outcome(err, &snap);
    let out = outcome_bytes(&snap, (status, err), &body, &request_id, true);
    let _ = conn.io.write_all(&out).await;
    let _ = conn.io.flush().await;
    let _ = conn.io.shutdown().await;
}

/// The pass-through: send (with retries, on the other arm when
/// [`failover`] says so), then stream the response back.
async fn forward<I>(
    conn: &mut Conn<I>,
    req: &mut Request<'_>,
    (arms, recorder): (&mut Arms, Option<&Recorder>),
    parts: &Parts,
    path_and_query: &str,
    decision_headers: Option<(Option<HeaderValue>, HeaderValue)>,
    log: &mut AccessLog,
) -> Next
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let snap = req.snap;
    let limits = &snap.settings;
    if let Framing::Length(n) = req.framing {
        if n > limits.max_request_body {
            let err = ProxyError::RequestTooLarge {
                limit: limits.max_request_body,
            };
            return answer(conn, req, &err, log).await;
        }
    }
    let Some(mut up) = arms.upstream(snap) else {
        return answer(conn, req, &ProxyError::Unavailable, log).await;
    };
    let mut head = upstream_head(parts, path_and_query, up, req.framing);
    // The target once the request moved to the other arm's base path.
    let mut moved_target: Option<String> = None;
    let close = !req.keep_alive || conn.stopping();
    let request_id = req.request_id.clone();
    let with_decision = decision_headers.is_some();
    let (route_name, arm_name, failover_name) = (ROUTE_HEADER, ARM_HEADER, FAILOVER_HEADER);
    let route_header = decision_headers.and_then(|(route, _)| route);
    conn.shared.retry.deposit();
    let has_body = req.framing != Framing::Empty;
    let mut attempt = 0;
    let mut out = Vec::with_capacity(512);
    let (mut upstream, info) = loop {
        attempt += 1;
        log.attempts = attempt;
        if !arms.avoid_unavailable(snap) {
            return answer(conn, req, &ProxyError::Unavailable, log).await;
        }
        let Some(next) = arms.upstream(snap) else {
            return answer(conn, req, &ProxyError::Unavailable, log).await;
        };
        if !Arc::ptr_eq(next, up) {
            let target =
                failover::rebase(moved_target.as_deref().unwrap_or(path_and_query), up, next);
            head = upstream_head(parts, &target, next, req.framing);
            moved_target = Some(target);
            up = next;
            log.arm = arms.arm.as_str();
            log.backend = Some(up.name.clone());
            log.failover = arms.moved;
        }
        let mut set: [(&str, &[u8]); 4] =
            [(limits.request_id_header.as_str(), request_id.as_bytes()); 4];
        let mut n = 1;
        if with_decision {
            if let Some(route) = &route_header {
                set[n] = (route_name.as_str(), route.as_bytes());
                n += 1;
            }
            set[n] = (arm_name.as_str(), arms.arm.as_str().as_bytes());
            n += 1;
            if let Some(moved) = arms.moved {
                set[n] = (failover_name.as_str(), moved.as_bytes());
                n += 1;
            }
        }
        let extra = Extra {
            set: &set[..n],
            head_request: parts.method == http::Method::HEAD,
            close,
            limit: limits.max_response_body,
        };
        let sent = Instant::now();
        out.clear();
        let once = attempt_once(conn, req, up, &head, &extra, &mut out);
        let result = exchange(up, once, judge).await;
        log.upstream_us = Some(sent.elapsed().as_micros() as u64);
        let (failure, err) = match result {
            Ok(done) => break done,
            Err(Refused::Unavailable) => {
                return answer(conn, req, &ProxyError::Unavailable, log).await;
            }
            Err(Refused::Timeout) => (Failure::Timeout, ProxyError::Timeout),
            Err(Refused::Failed(Fail::NoResponse { connect: true })) => {
                (Failure::Refused, ProxyError::Connect)
            }
            Err(Refused::Failed(Fail::NoResponse { connect: false })) => {
                (Failure::NoResponse, ProxyError::Upstream)
            }
            Err(Refused::Failed(Fail::Upstream)) => {
                return answer(conn, req, &ProxyError::Upstream, log).await;
            }
            Err(Refused::Failed(Fail::ResponseTooLarge)) => {
                let err = ProxyError::ResponseTooLarge {
                    limit: limits.max_response_body,
                };
                return answer(conn, req, &err, log).await;
            }
            Err(Refused::Failed(Fail::RequestTooLarge)) => {
                let err = ProxyError::RequestTooLarge {
                    limit: limits.max_request_body,
                };
                return answer(conn, req, &err, log).await;
            }
            Err(Refused::Failed(Fail::BadBody)) => {
                return answer(conn, req, &ProxyError::BadRequest, log).await
            }
            Err(Refused::Failed(Fail::ClientGone)) => {
                log.status = CLIENT_CLOSED;
                log.emit_ref(0);
                return Next::Close;
            }
        };
        let at = Attempt {
            snap,
            method: &parts.method,
            attempt,
            max_attempts: limits.max_attempts,
            // A refused connection sent nothing, unless the body was
            // already being read (a pooled connection failed mid-way).
            body_sent: failure != Failure::Refused || req.body.started,
            has_body,
            budget: &conn.shared.retry,
        };
        if arms.after_failure(failure, at) == Retry::No {
            return answer(conn, req, &err, log).await;
        }
    };
    log.status = info.status;
    if let Some(recorder) = recorder {
        let raw = conn.upstream_buf.get(..info.len).unwrap_or(&[]);
        let location =
            header_in_head(raw, b"location").or_else(|| header_in_head(raw, b"content-location"));
        if let Some(location) = location {
            recorder.created(&*snap.placements, arms.arm, info.status, location);
        }
    }
    conn.upstream_buf.advance(info.len);
    let mut bytes = 0;
    let relayed = relay(
        info.framing,
        &mut upstream,
        &mut conn.upstream_buf,
        &mut conn.io,
        out,
        limits.max_response_body,
        &mut bytes,
    )
    .await;
    let flushed = conn.io.flush().await.is_ok();
    if relayed == Err(RelayError::TooLarge) {
        log.truncated = true;
    }
    log.emit_ref(bytes);
    if relayed.is_ok() && info.reusable && conn.upstream_buf.is_empty() {
        pool::checkin(up, upstream);
    }
    if relayed.is_ok() && flushed && !info.close {
        Next::KeepAlive
    } else {
        Next::Close
    }
}

/// What an attempt's outcome says about the backend's health (the call
/// policy, [`crate::upstream::exchange`], records it): a response by its
/// status, an over-long response as an answer, no response or a broken one
/// as a failure; the client's own faults (a body too large or malformed, a
/// client gone) say nothing about the backend.
fn judge(outcome: &Result<(TcpStream, Info), Fail>) -> Health {
    match outcome {
        Ok((_, info)) if info.status >= 500 => Health::Bad,
        Ok(_) | Err(Fail::ResponseTooLarge) => Health::Good,
        Err(Fail::NoResponse { .. } | Fail::Upstream) => Health::Bad,
        Err(Fail::RequestTooLarge | Fail::BadBody | Fail::ClientGone) => Health::Neutral,
    }
}

/// One try: a connection (pooled or new), the head and body written, the
/// response head read and rewritten into `out`.
async fn attempt_once<I>(
    conn: &mut Conn<I>,
    req: &mut Request<'_>,
    up: &Upstream,
    head: &[u8],
    extra: &Extra<'_>,
    out: &mut Vec<u8>,
) -> Result<(TcpStream, Info), Fail>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = match pool::checkout(up) {
        Some(io) => io,
        None => pool::connect(up)
            .await
            .map_err(|_| Fail::NoResponse { connect: true })?,
    };
    if req.framing == Framing::Empty {
        io.write_all(head)
            .await
            .map_err(|_| Fail::NoResponse { connect: false })?;
    } else {
        if req.expect_continue && !req.body.continued && conn.buf.is_empty() {
            req.body.continued = true;
            conn.io
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| Fail::ClientGone)?;
            conn.io.flush().await.map_err(|_| Fail::ClientGone)?;
        }
        req.body.started = true;
        let mut sent = 0;
        let limit = req.snap.settings.max_request_body;
        match relay(
            req.framing,
            &mut conn.io,
            &mut conn.buf,
            &mut io,
            head.to_vec(),
            limit,
            &mut sent,
        )
        .await
        {
            Ok(()) => req.body.done = true,
            Err(RelayError::Source) => return Err(Fail::ClientGone),
            Err(RelayError::TooLarge) => return Err(Fail::RequestTooLarge),
            Err(RelayError::Framing) => return Err(Fail::BadBody),
            Err(RelayError::Destination) => return Err(Fail::Upstream),
        }
    }
    // The connection's upstream read buffer, reused request after request.
    let buf = &mut conn.upstream_buf;
    buf.clear();
    let mut answered = false;
    loop {
        match response::parse(buf, MAX_RESPONSE_HEAD, extra, out) {
            Ok(Head::Final(info)) => return Ok((io, info)),
            Ok(Head::Informational(n)) => {
                buf.advance(n);
                answered = true;
                continue;
            }
            Ok(Head::Partial) => {}
            Err(ResponseError::TooLarge) => return Err(Fail::ResponseTooLarge),
            Err(ResponseError::Malformed) => return Err(Fail::Upstream),
        }
        buf.reserve(8 * 1024);
        match io.read_buf(buf).await {
            Ok(n) if n > 0 => {}
            _ if buf.is_empty() && !answered => return Err(Fail::NoResponse { connect: false }),
            _ => return Err(Fail::Upstream),
        }
    }
}

/// The value of header `name` (lower case) in a raw response head, the
/// first if repeated, without surrounding whitespace (write placement
/// reads `Location`; the head was parsed and checked already).
fn header_in_head<'h>(head: &'h [u8], name: &[u8]) -> Option<&'h [u8]> {
    head.split(|b| *b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|b| *b == b':')?;
        let (n, v) = line.split_at(colon);
        n.eq_ignore_ascii_case(name).then(|| v[1..].trim_ascii())
    })
}

/// The request head for the upstream hop: method, target, `Host`, the
/// rewritten headers, and the framing written from the parsed `framing`
/// alone (`Content-Length: n`, or `Transfer-Encoding: chunked` for the
/// re-framed chunked body): whatever `Content-Length` / `Transfer-Encoding`
/// lines are left in the headers are never copied, so no header a client
/// named in `Connection` (or sent twice) can unframe the body upstream.
fn upstream_head(parts: &Parts, path_and_query: &str, up: &Upstream, framing: Framing) -> Vec<u8> {
    let mut head = Vec::with_capacity(256 + parts.headers.len() * 48);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(path_and_query.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    line(&mut head, b"host", up.host_header.as_bytes());
    for (name, value) in &parts.headers {
        if name != header::EXPECT
            && name != header::CONTENT_LENGTH
            && name != header::TRANSFER_ENCODING
            && name != header::HOST
        {
            line(&mut head, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    match framing {
        Framing::Length(n) => {
            let mut digits = [0u8; 20];
            line(
                &mut head,
                b"content-length",
                response::decimal(n, &mut digits),
            );
        }
        Framing::Chunked => line(&mut head, b"transfer-encoding", b"chunked"),
        // A client's `Content-Length: 0` (a POST without payload) stays.
        Framing::Empty if parts.headers.contains_key(header::CONTENT_LENGTH) => {
            line(&mut head, b"content-length", b"0");
        }
        Framing::Empty | Framing::UntilClose => {}
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Answers with the OperationOutcome for `err` and records the request.
/// The connection stays open only when the request's body is behind us
/// (read, or small enough to read and drop now).
async fn answer<I>(
    conn: &mut Conn<I>,
    req: &mut Request<'_>,
    err: &ProxyError,
    log: &mut AccessLog,
) -> Next
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let body_behind = req.body.done || req.framing == Framing::Empty || drain(conn, req).await;
    let close = !req.keep_alive || conn.stopping() || !body_behind || err.closes_connection();
    let (status, body) = error_outcome(err, req.snap);
    let out = outcome_bytes(req.snap, (status, err), &body, &req.request_id, close);
    log.status = status.as_u16();
    let written = conn.io.write_all(&out).await.is_ok() && conn.io.flush().await.is_ok();
    log.emit_ref(body.len() as u64);
    if close || !written {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// Reads and drops an unread request body when that is cheap (not started,
/// no `100 Continue` awaited, at most [`DRAIN_LIMIT`]); whether it worked.
async fn drain<I>(conn: &mut Conn<I>, req: &mut Request<'_>) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    if req.body.started || (req.expect_continue && !req.body.continued) {
        return false;
    }
    if let Framing::Length(n) = req.framing {
        if n > DRAIN_LIMIT {
            return false;
        }
    }
    req.body.started = true;
    let mut seen = 0;
    let mut sink = tokio::io::sink();
    let drained = relay(
        req.framing,
        &mut conn.io,
        &mut conn.buf,
        &mut sink,
        Vec::new(),
        DRAIN_LIMIT,
        &mut seen,
    );
    let ok = matches!(
        tokio::time::timeout(DRAIN_TIMEOUT, drained).await,
        Ok(Ok(()))
    );
    req.body.done = ok;
    ok
}

/// A whole OperationOutcome response answering `err` with `status`.
fn outcome_bytes(
    snap: &Snapshot,
    (status, err): (http::StatusCode, &ProxyError),
    body: &[u8],
    request_id: &HeaderValue,
    close: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&response::itoa3(status.as_u16()));
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    // We are the origin of this answer (RFC 9110 section 6.6.1), as
    // hyper's server would add it on the other path.
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    line(&mut out, b"date", date.as_bytes());
    line(&mut out, b"content-type", FHIR_JSON.as_bytes());
    line(
        &mut out,
        b"content-length",
        body.len().to_string().as_bytes(),
    );
    line(
        &mut out,
        snap.settings.request_id_header.as_str().as_bytes(),
        request_id.as_bytes(),
    );
    if matches!(err, ProxyError::MethodNotAllowed { .. }) {
        line(
            &mut out,
            b"allow",
            crate::proxy::method_rules::ALLOW.as_bytes(),
        );
    }
    if close {
        line(&mut out, b"connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
