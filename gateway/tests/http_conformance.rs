//! Differential HTTP/1.1 conformance suite (issue 26): raw request cases
//! sent on fresh connections to the gateway on both HTTP/1.1 engines
//! (`native` and `hyper`) and, where Debian's nginx is installed, to nginx
//! in front of the same kind of backend. Each leg runs the cases one after
//! the other against its own strict recording backend
//! (`http_conformance/backend.rs`); the three legs run side by side.
//! `cargo test -p ehrgate --test http_conformance`.
//!
//! # Case files
//! `http_conformance/*.cases`, one group per file. `#` starts a comment
//! line; `=== name` starts a case; then `key = value` lines:
//! - `send`: the raw bytes (repeatable, concatenated), with the escapes
//!   `\r \n \t \0 \s \\ \xHH` and `\{N*text}` (text repeated N times);
//! - `status`: the client's responses in order, `,` between responses and
//!   `|` between acceptable statuses (`200, 400`; `400|505`); 1xx interim
//!   responses are skipped; `none`: the connection closes unanswered;
//! - `backend`: one line per request the backend must receive, in the
//!   normalised form below (same escapes); `none`: nothing; `aborted`:
//!   nothing complete, but a request whose body ended early may arrive (a
//!   body error found while streaming: the backend never sees a whole
//!   message);
//! - `pending = <branch>`: waits for that branch; skipped on the gateway
//!   legs (listed in the output), still run through nginx;
//! - `nginx = <outcome>` and `why = <reason>`: nginx's outcome where it
//!   differs from the expectation, exactly as the runner writes it
//!   (`statuses => request line +"payload" && ...`, or `=> nothing`);
//! - `note`: why the expectation is what it is (RFC sections).
//!
//! # What is compared
//! Gateway legs, exactly: the statuses; the client connection gives no
//! more responses than listed within 30 ms (so `Connection: close`, a
//! CL+TE request or an HTTP/1.0 request that closes is checked by a
//! second request left unanswered); and every request the backend
//! received, normalised so: the request line as sent; the header lines
//! with names lowercased and values trimmed of OWS, sorted by name (same
//! names keep their order: field order between different names carries
//! no meaning, RFC 9110 5.3); `Host` written `backend` when it is the
//! backend's address (the gateway sends the upstream's authority, on a
//! random port); the masked headers below left out; an empty line; the
//! body bytes exactly as on the wire, chunk framing included, with chunk
//! sizes in lower case (hex is case-insensitive; the engines' encoders
//! differ). The backend itself refuses anything not strictly RFC 9112
//! (bare CR/LF, obs-fold, two framings, non-canonical chunk sizes or
//! extensions): a gateway that forwards it fails the case.
//!
//! Masked, the gateway's own values: `Forwarded`, `X-Forwarded-For`,
//! `X-Forwarded-Proto` (the peer address), `X-Request-Id`, `traceparent`,
//! `tracestate` (random). `X-Forwarded-Host` (the client's authority) and
//! `X-Tenant-Id` (the tenant routed on) are compared; `Forwarded: host=`
//! must agree with `X-Forwarded-Host` on every request.
//!
//! nginx leg: what a backend understood, since nginx writes its own
//! headers and framing: the statuses and, per request, the request line
//! and the payload (chunk framing removed). A disagreement must be listed
//! in the case (`nginx`, `why`) exactly as it happens; an unlisted one, a
//! changed one or a listed one that no longer happens fails the test. All
//! failures of all legs are collected and reported together.
//!
//! # nginx 1.22 disagreements, by category
//! | category | cases | nginx | the gateway |
//! |---|---|---|---|
//! | lax chunk framing (bare LF, colonless / folded trailers, unbounded extensions) | 6 | accepts, forwards | 400 |
//! | Content-Length with Transfer-Encoding | 4 | 400 | chunked alone, closes (RFC 9112 6.1 allows both) |
//! | Transfer-Encoding other than exactly `chunked` | 7 | 501 for all, HTAB not trimmed | 400 when chunked is not final (RFC 9112 6.3), OWS trimmed |
//! | two equal Content-Length lines | 1 | 400 | one kept (RFC 9110 8.6) |
//! | invalid field names, lines without colon, DEL | 5 | drops the line or passes DEL on | 400 |
//! | Host values (userinfo, `<>`, bad port) | 3 | accepts | 400 (RFC 9112 3.2) |
//! | limits | 3 | per-line buffer, no line count, 400 | whole head, 100 lines, 431 |
//! | dot segments and encoded separators | 13 | forwards the target as sent; decodes `%2e`/`%2f` for its own match | forwards the resolved path; refuses disguised dots and `%2F`/`%5C`/`\` |
//! | request line (case of methods, spaces, HTTP/0.9, HTTP/1.2, `#`, raw non-ASCII, CONNECT, `OPTIONS *`) | 8 | mixed: laxer on most | strict (400), 405 for CONNECT, 404 for `OPTIONS *` |

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "http_conformance/backend.rs"]
mod backend;
#[path = "http_conformance/cases.rs"]
mod cases;
#[path = "http_conformance/client.rs"]
mod client;
mod common;
#[path = "http_conformance/nginx.rs"]
mod nginx;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backend::{Backend, Recorded};
use cases::{escape, Case};
use common::{start_gateway, ConfigDir};

/// The head limit every leg runs with (hyper's buffer floor, so both
/// engines can be exact).
const MAX_HEAD: usize = 8192;
/// The body limit every leg runs with.
const MAX_BODY: u64 = 1024;
/// How long a case that may leave an aborted request waits for it.
const ABORT_GRACE: Duration = Duration::from_millis(60);
/// Fewest cases the suite may hold (the issue asks for 60, the part for 110).
const MIN_CASES: usize = 110;

/// Headers the gateway adds whose values are its own (peer address, ids):
/// left out of the comparison; `Forwarded`'s agreement with
/// `X-Forwarded-Host` is checked on every request instead (see
/// [`invariants`]).
const MASKED: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-request-id",
    "traceparent",
    "tracestate",
];

fn config(backend: SocketAddr, engine: &str) -> String {
    format!(
        r#"
[server]
max_request_body = {MAX_BODY}
max_request_head = {MAX_HEAD}
reload_poll_ms = 0
http1_engine = "{engine}"

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "recorder"
url = "http://{backend}"
kind = "fhir"
request_timeout_ms = 2000

[tenancy]
resolve = ["header", "host"]

[[tenant]]
id = "acme"
hosts = ["gw", "acme.example"]

[[tenant]]
id = "other"
hosts = ["other.example"]

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "recorder"
"#
    )
}

/// The comparable form of a recorded request: the request line as sent,
/// header names lowercased, values without surrounding whitespace,
/// [`MASKED`] left out, `Host` written `backend` when it is the backend's
/// own address (the gateway sends the upstream's authority; the port is
/// random), sorted by name (stable: same-name lines keep their order), an
/// empty line, then the body bytes exactly as on the wire.
fn normalise(head: &[u8], wire_body: &[u8], backend: SocketAddr) -> Vec<u8> {
    let backend = backend.to_string();
    let mut lines = head[..head.len() - 4].split(|&b| b == b'\n');
    let first = lines.next().unwrap_or(b"").trim_ascii_end();
    let mut fields: Vec<(Vec<u8>, &[u8])> = lines
        .filter_map(|l| {
            let colon = l.iter().position(|&b| b == b':')?;
            let name = l[..colon].to_ascii_lowercase();
            let value = l[colon + 1..].trim_ascii();
            let value = if name == b"host" && value == backend.as_bytes() {
                &b"backend"[..]
            } else {
                value
            };
            Some((name, value))
        })
        .filter(|(n, _)| !MASKED.iter().any(|m| m.as_bytes() == n.as_slice()))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = first.to_vec();
    out.extend_from_slice(b"\r\n");
    for (n, v) in fields {
        out.extend_from_slice(&n);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if header(&String::from_utf8_lossy(head), "transfer-encoding").is_some() {
        out.extend_from_slice(&lowercase_chunk_sizes(wire_body));
    } else {
        out.extend_from_slice(wire_body);
    }
    out
}

/// A chunked body (already checked by the backend) with its size lines in
/// lower case: hex digits are case-insensitive and the engines' encoders
/// differ (the native engine writes `a`, hyper's `A`); everything else
/// stays byte for byte.
fn lowercase_chunk_sizes(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut rest = wire;
    loop {
        let Some(i) = rest.windows(2).position(|w| w == b"\r\n") else {
            out.extend_from_slice(rest);
            return out;
        };
        let line = &rest[..i];
        out.extend_from_slice(&line.to_ascii_lowercase());
        out.extend_from_slice(b"\r\n");
        rest = &rest[i + 2..];
        let size = std::str::from_utf8(line)
            .ok()
            .and_then(|l| usize::from_str_radix(l, 16).ok());
        match size {
            Some(n) if n > 0 && rest.len() >= n + 2 => {
                out.extend_from_slice(&rest[..n + 2]);
                rest = &rest[n + 2..];
            }
            // the last chunk: the trailer section and the final CRLF as sent
            _ => {
                out.extend_from_slice(rest);
                return out;
            }
        }
    }
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// What holds for every request the gateway forwards, whatever the case:
/// `Forwarded: host=` names the client's authority that
/// `X-Forwarded-Host` names (one reading of it).
fn invariants(head: &[u8]) -> Result<(), String> {
    let head = String::from_utf8_lossy(head);
    if let (Some(f), Some(h)) = (
        header(&head, "forwarded"),
        header(&head, "x-forwarded-host"),
    ) {
        if f.contains("host=") && !f.contains(&format!("host=\"{h}\"")) {
            return Err(format!("forwarded {f:?} but x-forwarded-host {h:?}"));
        }
    }
    Ok(())
}

/// One leg's outcome for one case.
struct Outcome {
    got: client::Got,
    recorded: Vec<Recorded>,
}

async fn run_case(addr: SocketAddr, backend: &Backend, case: &Case) -> Outcome {
    let got = client::exchange(addr, &case.send, case.status.len()).await;
    if case.aborted {
        // an abandoned upstream request may close a moment after the answer
        tokio::time::sleep(ABORT_GRACE).await;
    }
    Outcome {
        got,
        recorded: backend.take(),
    }
}

fn statuses_match(want: &[Vec<u16>], got: &[u16]) -> bool {
    want.len() == got.len() && want.iter().zip(got).all(|(w, g)| w.contains(g))
}

fn show_status(want: &[Vec<u16>]) -> String {
    if want.is_empty() {
        return "none".into();
    }
    let one = |s: &Vec<u16>| s.iter().map(u16::to_string).collect::<Vec<_>>().join("|");
    want.iter().map(one).collect::<Vec<_>>().join(", ")
}

fn show_recorded(r: &Recorded, backend: SocketAddr) -> String {
    match r {
        Recorded::Request {
            head, wire_body, ..
        } => escape(&normalise(head, wire_body, backend)),
        Recorded::Malformed(why, raw) => format!("MALFORMED ({why}): {}", escape(raw)),
        Recorded::Aborted(raw) => format!("ABORTED: {}", escape(raw)),
    }
}

/// Compares a gateway leg's outcome with the case, exactly.
fn judge_gateway(case: &Case, o: &Outcome, backend: SocketAddr) -> Result<(), String> {
    let mut wrong = Vec::new();
    if let Some(p) = &o.got.problem {
        wrong.push(format!("client: {p}"));
    }
    if !statuses_match(&case.status, &o.got.statuses) {
        wrong.push(format!(
            "client got status {:?}, expected {}",
            o.got.statuses,
            show_status(&case.status)
        ));
    }
    let got: Vec<Option<Vec<u8>>> = o
        .recorded
        .iter()
        .filter(|r| !(case.aborted && matches!(r, Recorded::Aborted(_))))
        .map(|r| match r {
            Recorded::Request {
                head, wire_body, ..
            } => Some(normalise(head, wire_body, backend)),
            Recorded::Malformed(..) | Recorded::Aborted(_) => None,
        })
        .collect();
    let want: Vec<Option<Vec<u8>>> = case.backend.iter().cloned().map(Some).collect();
    if got != want {
        let show = |v: &[String]| {
            if v.is_empty() {
                "nothing".to_owned()
            } else {
                v.join("\n      && ")
            }
        };
        let want: Vec<String> = case.backend.iter().map(|b| escape(b)).collect();
        let got: Vec<String> = o
            .recorded
            .iter()
            .map(|r| show_recorded(r, backend))
            .collect();
        wrong.push(format!(
            "backend received\n      {}\n    expected\n      {}",
            show(&got),
            show(&want)
        ));
    }
    for r in &o.recorded {
        if let Recorded::Request { head, .. } = r {
            if let Err(e) = invariants(head) {
                wrong.push(format!("forwarded request: {e}"));
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n    "))
    }
}

/// `request line` or `request line +"payload"`: what a backend understood
/// of one request, the unit the nginx leg compares (nginx writes its own
/// headers and framing, so only the message's meaning is comparable).
fn meaning(line: &[u8], payload: &[u8]) -> String {
    let line = escape(line);
    if payload.is_empty() {
        line
    } else {
        format!("{line} +\"{}\"", escape(payload))
    }
}

/// The expectation as nginx's outcome would be written.
fn expected_summary(case: &Case) -> String {
    let reqs: Vec<String> = case
        .backend
        .iter()
        .map(|b| {
            let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap_or(b.len());
            let head_end = b
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(b.len(), |i| i + 4);
            let head = String::from_utf8_lossy(&b[..head_end]);
            let body = &b[head_end..];
            let payload = if header(&head, "transfer-encoding").is_some() {
                match backend::chunked(body) {
                    Ok(Some((_, p))) => p,
                    _ => body.to_vec(),
                }
            } else {
                body.to_vec()
            };
            meaning(&b[..line_end], &payload)
        })
        .collect();
    summary(&show_status(&case.status), &reqs)
}

fn summary(status: &str, reqs: &[String]) -> String {
    let reqs = if reqs.is_empty() {
        "nothing".to_owned()
    } else {
        reqs.join(" && ")
    };
    format!("{status} => {reqs}")
}

fn nginx_summary(o: &Outcome) -> String {
    let reqs: Vec<String> = o
        .recorded
        .iter()
        .map(|r| match r {
            Recorded::Request { head, payload, .. } => {
                let end = head
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .unwrap_or(head.len());
                meaning(&head[..end], payload)
            }
            Recorded::Malformed(why, _) => format!("MALFORMED ({why})"),
            Recorded::Aborted(_) => "ABORTED".to_owned(),
        })
        .filter(|r| r != "ABORTED")
        .collect();
    let mut status = if o.got.statuses.is_empty() {
        "none".to_owned()
    } else {
        o.got
            .statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(p) = &o.got.problem {
        status = format!("{status} ({p})");
    }
    summary(&status, &reqs)
}

/// Whether nginx's outcome is the expectation.
fn nginx_agrees(case: &Case, o: &Outcome) -> bool {
    o.got.problem.is_none()
        && statuses_match(&case.status, &o.got.statuses)
        && nginx_summary(o)
            .split_once(" => ")
            .map(|(_, r)| r.to_owned())
            == expected_summary(case)
                .split_once(" => ")
                .map(|(_, r)| r.to_owned())
}

/// The nginx leg's verdict: a disagreement must be listed, exactly as it
/// is, and a listed one must still happen.
fn judge_nginx(case: &Case, o: &Outcome) -> Result<(), String> {
    let actual = nginx_summary(o);
    match (nginx_agrees(case, o), &case.nginx) {
        (true, None) => Ok(()),
        (true, Some(listed)) => Err(format!(
            "nginx now agrees with the expectation; remove `nginx = {listed}`"
        )),
        (false, None) => Err(format!(
            "nginx disagrees and the case does not list it:\n      nginx = {actual}\n    expected {}",
            expected_summary(case)
        )),
        (false, Some(listed)) if *listed == actual => Ok(()),
        (false, Some(listed)) => Err(format!(
            "nginx disagrees otherwise than listed:\n      nginx = {actual}\n    listed  {listed}"
        )),
    }
}

enum Leg {
    Gateway(&'static str),
    Nginx,
}

/// What reached the backend after a case was judged: an aborted request
/// of a case that allows one is late, not wrong; anything else is a
/// failure of that case.
fn judge_late(prev: Option<&Case>, late: &[Recorded], backend: SocketAddr) -> Result<(), String> {
    let allowed = prev.is_some_and(|c| c.aborted);
    let wrong: Vec<String> = late
        .iter()
        .filter(|r| !(allowed && matches!(r, Recorded::Aborted(_))))
        .map(|r| show_recorded(r, backend))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the backend received, after the case was judged:\n      {}",
            wrong.join("\n      && ")
        ))
    }
}

/// Runs every case through one leg, one after the other (the backend's
/// record is attributed to the case that was running; what comes late is
/// checked against the case before).
async fn run_leg(leg: Leg, cases: Arc<Vec<Case>>) -> Vec<String> {
    let backend = Backend::start().await;
    let mut failures = Vec::new();
    let (label, addr, running) = match leg {
        Leg::Gateway(engine) => {
            let dir = ConfigDir::new(&config(backend.addr, engine));
            let gw = start_gateway(&dir.path()).await;
            let addr = gw.local_addrs()[0];
            (engine, addr, Running::Gateway(gw, dir))
        }
        Leg::Nginx => {
            let nginx = nginx::Nginx::start(backend.addr, MAX_HEAD, MAX_BODY).await;
            ("nginx", nginx.addr, Running::Nginx { _nginx: nginx })
        }
    };
    let gateway = matches!(running, Running::Gateway(..));
    let mut prev: Option<&Case> = None;
    let run: Vec<&Case> = cases
        .iter()
        .filter(|c| !gateway || c.pending.is_none())
        .collect();
    for case in run {
        let late = backend.take();
        if let (Err(e), Some(p)) = (judge_late(prev, &late, backend.addr), prev) {
            failures.push(format!("{} [{label}]\n    {e}", p.name));
        }
        let o = run_case(addr, &backend, case).await;
        let verdict = if gateway {
            judge_gateway(case, &o, backend.addr)
        } else {
            judge_nginx(case, &o)
        };
        if let Err(e) = verdict {
            failures.push(format!(
                "{} [{label}]\n    sent {}\n    {e}",
                case.name,
                escape(&case.send)
            ));
        }
        prev = Some(case);
    }
    tokio::time::sleep(ABORT_GRACE).await;
    if let (Err(e), Some(p)) = (judge_late(prev, &backend.take(), backend.addr), prev) {
        failures.push(format!("{} [{label}]\n    {e}", p.name));
    }
    if let Running::Gateway(gw, _dir) = running {
        gw.shutdown().await;
    }
    failures
}

/// What a leg keeps alive while it runs.
enum Running {
    Gateway(ehrgate::Gateway, ConfigDir),
    Nginx { _nginx: nginx::Nginx },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_http_conformance() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http_conformance");
    let cases = Arc::new(cases::load_dir(&dir));
    assert!(cases.len() >= MIN_CASES, "only {} cases", cases.len());
    let mut legs = vec![
        tokio::spawn(run_leg(Leg::Gateway("native"), cases.clone())),
        tokio::spawn(run_leg(Leg::Gateway("hyper"), cases.clone())),
    ];
    if nginx::installed() {
        legs.push(tokio::spawn(run_leg(Leg::Nginx, cases.clone())));
    } else {
        println!("nginx leg skipped: {} not installed", nginx::BINARY);
    }
    let mut failures = Vec::new();
    for leg in legs {
        failures.extend(leg.await.expect("a leg panicked"));
    }
    let pending: Vec<String> = cases
        .iter()
        .filter_map(|c| Some(format!("{} (pending = {})", c.name, c.pending.as_ref()?)))
        .collect();
    let listed = cases.iter().filter(|c| c.nginx.is_some()).count();
    println!(
        "{} cases, {} pending (skipped on the gateway legs), {listed} nginx disagreements listed",
        cases.len(),
        pending.len()
    );
    for p in &pending {
        println!("  pending: {p}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
