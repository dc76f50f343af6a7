//! The native HTTP/1.1 engine on real 127.0.0.1 sockets, with raw bytes on
//! both sides where framing matters: chunked bodies both ways (payload
//! passed through, framing re-written canonical), pipelining, upstream keep-alive reuse and an
//! upstream closing a kept-alive connection, `Expect: 100-continue`, HEAD
//! and 304 without bodies, heads over the limit (431) and garbage (400),
//! a client leaving mid-body (still one access-log line), the fallback to
//! hyper mid-connection, and the `http1_engine = "hyper"` switch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start_gateway, ConfigDir, TestUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn config(upstream: &str, extra: &str) -> String {
    format!(
        r#"
[server]
max_request_body = 100000
max_response_body = 200000
reload_poll_ms = 0
{extra}

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "{upstream}"
kind = "fhir"
request_timeout_ms = 2000

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
"#
    )
}

// === a scripted raw upstream ===

/// What the scripted upstream does with one request.
#[derive(Clone, Copy)]
enum Script {
    /// Answers with the bytes.
    Answer(&'static str),
    /// Answers with the bytes, then closes the connection.
    AnswerAndClose(&'static str),
}

/// An upstream speaking raw HTTP/1.1: reads request heads (bodies by
/// `Content-Length`), answers from a script chosen by the request path,
/// counts connections and keeps the heads it saw.
struct RawUpstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawUpstream {
    async fn start(script: fn(&str) -> Script) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (connections.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let Some(end) = read_until_head_end(&mut s, &mut buf).await else {
                            return;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        let body_len = header_of(&head, "content-length")
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        while buf.len() < end + body_len {
                            let mut chunk = [0u8; 4096];
                            match s.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + body_len);
                        let path = head.split(' ').nth(1).unwrap_or("").to_string();
                        seen.lock().unwrap().push(head);
                        match script(&path) {
                            Script::Answer(a) => {
                                if s.write_all(a.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Script::AnswerAndClose(a) => {
                                let _ = s.write_all(a.as_bytes()).await;
                                return;
                            }
                        }
                    }
                });
            }
        });
        RawUpstream {
            addr,
            connections,
            heads,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn read_until_head_end(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn header_of<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// === a raw client ===

/// A response as read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    /// The body bytes exactly as sent (chunk framing included).
    wire_body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.head, name)
    }

    fn outcome_code(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.wire_body).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome");
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Reads one response (`Content-Length`, chunked, or until close); `buf`
/// keeps bytes read past it. `head_request` means no body.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head_request: bool) -> Raw {
    let end = tokio::time::timeout(Duration::from_secs(5), read_until_head_end(s, buf))
        .await
        .expect("response head in time")
        .expect("a response head");
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    let status: u16 = head[9..12].parse().unwrap();
    let chunked = header_of(&head, "transfer-encoding").is_some();
    let length = header_of(&head, "content-length").map(|v| v.parse::<usize>().unwrap());
    let bodiless = head_request || status == 204 || status == 304 || status < 200;
    let body_end = |b: &[u8]| -> Option<usize> {
        if bodiless {
            Some(0)
        } else if chunked {
            b.windows(5).position(|w| w == b"0\r\n\r\n").map(|i| i + 5)
        } else {
            length.filter(|n| b.len() >= *n)
        }
    };
    loop {
        if let Some(n) = body_end(buf) {
            let wire_body = buf.drain(..n).collect();
            return Raw {
                status,
                head,
                wire_body,
            };
        }
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("body in time")
            .unwrap_or(0);
        if n == 0 {
            // until close
            return Raw {
                status,
                head,
                wire_body: std::mem::take(buf),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

const GET: &str = "GET /fhir/Patient/1 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n";

// === tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_pass_through_both_ways() {
    // request: chunked from the client, decoded by a hyper upstream
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(&up.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    c.write_all(b"POST /fhir/Patient HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.write_all(b"6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.wire_body, b"legacy got 11 bytes");
    // and the connection serves the next request
    c.write_all(GET.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut c, &mut buf, false).await.status, 200);
    gw.shutdown().await;

    // response: chunked from the upstream, re-framed for the client (the
    // chunks as they came, extensions dropped; `proxy::h1::chunked`)
    let raw = RawUpstream::start(|_| {
        Script::Answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-kind: raw\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n")
    })
    .await;
    let dir = ConfigDir::new(&config(&raw.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..2 {
        c.write_all(GET.as_bytes()).await.unwrap();
        let r = read_response(&mut c, &mut buf, false).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.header("x-kind"), Some("raw"));
        assert_eq!(r.header("x-ehrgate-route"), Some("fhir"));
        // re-framed: the payload as sent, the extension dropped
        assert_eq!(r.wire_body, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    }
    // and a hyper client decodes it
    let a = common::get(&common::client(), gw.local_addrs()[0], "/fhir/x", "acme").await;
    assert_eq!(a.body, "hello world");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(&up.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut batch = String::new();
    for i in 0..5 {
        batch.push_str(&format!(
            "GET /fhir/Patient/{i} HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n"
        ));
    }
    batch.push_str("POST /fhir/Patient HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\ncontent-length: 3\r\n\r\nabc");
    batch.push_str(GET);
    c.write_all(batch.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    for i in 0..5 {
        let r = read_response(&mut c, &mut buf, false).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("x-seen-path").unwrap(),
            format!("/fhir/Patient/{i}")
        );
    }
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.wire_body, b"legacy got 3 bytes");
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.header("x-seen-path"), Some("/fhir/Patient/1"));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_and_reused() {
    let raw =
        RawUpstream::start(|_| Script::Answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))
            .await;
    let dir = ConfigDir::new(&config(&raw.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..20 {
        c.write_all(GET.as_bytes()).await.unwrap();
        let r = read_response(&mut c, &mut buf, false).await;
        assert_eq!((r.status, r.wire_body.as_slice()), (200, &b"ok"[..]));
    }
    assert_eq!(raw.connections(), 1);
    // the upstream got one well-formed head per request, Host rewritten
    let heads = raw.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 20);
    assert_eq!(
        header_of(&heads[0], "host"),
        Some(raw.addr.to_string().as_str())
    );
    assert_eq!(header_of(&heads[0], "x-forwarded-host"), Some("gw"));
    assert!(heads[0].starts_with("GET /fhir/Patient/1 HTTP/1.1\r\n"));
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_closing_a_kept_alive_connection_costs_no_request() {
    // every connection serves one request and closes, without saying so
    // (POSTs: never retried, so a dead pooled connection would be a 502)
    // or with `connection: close` (GETs: never pooled)
    let raw = RawUpstream::start(|path| {
        if path.contains("say") {
            Script::AnswerAndClose(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            )
        } else {
            Script::AnswerAndClose("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        }
    })
    .await;
    let dir = ConfigDir::new(&config(&raw.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    for i in 0..6 {
        // POST is never retried: it must not meet a dead pooled connection
        let req = if i < 4 {
            "POST /fhir/silent HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\ncontent-length: 2\r\n\r\nhi"
        } else {
            "GET /fhir/say HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n"
        };
        c.write_all(req.as_bytes()).await.unwrap();
        let r = read_response(&mut c, &mut buf, false).await;
        assert_eq!((r.status, r.wire_body.as_slice()), (200, &b"ok"[..]), "{i}");
        // the client connection stays open: the upstream's close is its own
        assert_eq!(r.header("connection"), None);
        // time for the upstream's FIN to reach the worker's poller (the
        // pool's liveness probe reads it from there)
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(raw.connections(), 6);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_answered_before_the_body() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(&up.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    c.write_all(b"PUT /fhir/Patient/1 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.status, 100);
    c.write_all(b"hello").await.unwrap();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(
        (r.status, r.wire_body.as_slice()),
        (200, &b"legacy got 5 bytes"[..])
    );
    // refused before the body: the final status, no 100, then close
    c.write_all(b"PUT /fhir/Patient/1 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: nobody\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n").await.unwrap();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
    assert_eq!(up.hits(), 1);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_304_responses_have_no_body() {
    let raw = RawUpstream::start(|path| {
        if path.contains("304") {
            Script::Answer("HTTP/1.1 304 Not Modified\r\netag: \"1\"\r\ncontent-length: 40\r\n\r\n")
        } else {
            Script::Answer("HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n")
        }
    })
    .await;
    let dir = ConfigDir::new(&config(&raw.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    c.write_all(b"HEAD /fhir/Patient/1 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\nGET /fhir/304 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n").await.unwrap();
    let r = read_response(&mut c, &mut buf, true).await;
    assert_eq!((r.status, r.header("content-length")), (200, Some("40")));
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!((r.status, r.header("etag")), (304, Some("\"1\"")));
    assert!(buf.is_empty(), "no body bytes follow: {buf:?}");
    assert_eq!(raw.connections(), 1);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_get_431_and_garbage_400() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(&up.url(), "max_request_head = 2048"));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let mut c = TcpStream::connect(addr).await.unwrap();
    let big = format!(
        "GET /fhir/Patient/1 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\nx-big: {}\r\n\r\n",
        "a".repeat(3000)
    );
    c.write_all(big.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.status, 431);
    assert_eq!(r.outcome_code(), "request.head-too-large");
    assert!(closed(&mut c).await);

    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"\x16\x03\x01\x02\x00 not http\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.outcome_code(), "request.malformed");
    assert!(r.header("x-request-id").is_some() && r.header("date").is_some());
    assert!(closed(&mut c).await);

    // a malformed chunked body after a good head: 400, closed, not forwarded
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"POST /fhir/Patient HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").await.unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!(
        (r.status, r.outcome_code().as_str()),
        (400, "request.malformed")
    );
    assert!(closed(&mut c).await);
    assert_eq!(up.hits(), 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_body_is_still_accounted_for() {
    let up = TestUpstream::start("legacy").await;
    let dir = ConfigDir::new(&config(
        &up.url(),
        "\n[telemetry]\naccess_log = \"access.jsonl\"\n",
    ));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"POST /fhir/Patient HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\ncontent-length: 50000\r\n\r\nonly a part").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(c);
    // and one complete request for comparison
    let a = common::get(&common::client(), addr, "/fhir/Patient/1", "acme").await;
    assert_eq!(a.status, 200);
    let log = dir.dir.path().join("access.jsonl");
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.shutdown().await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let left = lines.iter().find(|l| l["method"] == "POST").unwrap();
    assert_eq!(left["status"], 499);
    assert_eq!(left["route"], "fhir");
    assert_eq!(left["tenant"], "acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_engine_leaves_to_hyper_are_served_on_the_same_connection() {
    // a raw upstream writes no Date header; hyper's server adds one, the
    // native engine passes the upstream's headers only: that tells who served
    let raw =
        RawUpstream::start(|_| Script::Answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))
            .await;
    let dir = ConfigDir::new(&config(&raw.url(), ""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    c.write_all(GET.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!((r.status, r.header("date")), (200, None));
    // `Upgrade` is hyper's: it serves this and every later request here
    c.write_all(b"GET /fhir/Patient/2 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nGET /fhir/Patient/3 HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n").await.unwrap();
    for _ in 0..2 {
        let r = read_response(&mut c, &mut buf, false).await;
        assert_eq!(
            (r.status, r.wire_body.as_slice()),
            (200, &b"ok"[..]),
            "{r:?}"
        );
        assert!(r.header("date").is_some(), "served by hyper: {r:?}");
        assert_eq!(r.header("x-ehrgate-route"), Some("fhir"));
    }
    let heads = raw.heads.lock().unwrap().clone();
    let paths: Vec<&str> = heads.iter().map(|h| h.split(' ').nth(1).unwrap()).collect();
    assert_eq!(
        paths,
        ["/fhir/Patient/1", "/fhir/Patient/2", "/fhir/Patient/3"]
    );
    // hop-by-hop headers never reach the upstream, on either engine
    assert_eq!(header_of(&heads[1], "upgrade"), None);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hyper_engine_can_be_chosen() {
    let raw =
        RawUpstream::start(|_| Script::Answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))
            .await;
    let dir = ConfigDir::new(&config(&raw.url(), "http1_engine = \"hyper\""));
    let gw = start_gateway(&dir.path()).await;
    let mut c = TcpStream::connect(gw.local_addrs()[0]).await.unwrap();
    let mut buf = Vec::new();
    c.write_all(GET.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf, false).await;
    assert_eq!((r.status, r.header("x-ehrgate-arm")), (200, Some("stable")));
    assert!(r.header("date").is_some(), "served by hyper");
    gw.shutdown().await;
}
