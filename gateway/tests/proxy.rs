//! The proxy on real 127.0.0.1 sockets: pass-through, headers, tenants,
//! isolation, limits, errors as OperationOutcomes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::{client, get, send, start_gateway, ConfigDir, TestUpstream};

fn config(legacy: &TestUpstream, new: &TestUpstream, b_only: &TestUpstream, extra: &str) -> String {
    format!(
        r#"
[server]
max_request_body = 100000
max_response_body = 200000
reload_poll_ms = 0

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "{}"
kind = "fhir"
request_timeout_ms = 500

[[backend]]
name = "new"
url = "{}"
kind = "fhir"

[[backend]]
name = "b-only"
url = "{}/base"
kind = "http"

[tenancy]
resolve = ["header", "path"]
missing_status = 400
unknown_status = 403

[[tenant]]
id = "acme"

[[tenant]]
id = "globex"
path_prefix = "/t/globex"

[[route]]
id = "b-private"
path_prefix = "/private"
tenants = ["globex"]
stable = "b-only"
strip_prefix = true

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "new"
weight = 0
sticky = "patient"
[route.tenant_overrides.globex]
pin = "canary"
{extra}
"#,
        legacy.url(),
        new.url(),
        b_only.url()
    )
}

struct Setup {
    legacy: TestUpstream,
    new: TestUpstream,
    b_only: TestUpstream,
    _dir: ConfigDir,
    gw: ehrgate::Gateway,
}

async fn setup() -> Setup {
    setup_with(|c| c).await
}

/// The fhir route with `failover = "none"`: what a dead or slow stable
/// answers when its traffic is not sent to the canary (tests/failover.rs
/// covers the default).
async fn setup_without_failover() -> Setup {
    setup_with(|c| {
        c.replace(
            "sticky = \"patient\"\n[route.tenant_overrides",
            "sticky = \"patient\"\nfailover = \"none\"\n[route.tenant_overrides",
        )
    })
    .await
}

async fn setup_with(edit: impl FnOnce(String) -> String) -> Setup {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let b_only = TestUpstream::start("b-only").await;
    let dir = ConfigDir::new(&edit(config(&legacy, &new, &b_only, "")));
    let gw = start_gateway(&dir.path()).await;
    Setup {
        legacy,
        new,
        b_only,
        _dir: dir,
        gw,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_through_with_forwarding_headers_and_decision() {
    let s = setup().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    let a = send(
        &c,
        addr,
        "GET",
        "/fhir/Patient/123?_format=json",
        &[
            ("x-tenant-id", "acme"),
            ("connection", "x-secret"),
            ("x-secret", "1"),
            ("x-request-id", "3f2b8c1e-9a4d-4c2e-8f1a-0b6c2d7e9f10"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body, "legacy");
    assert_eq!(a.header("x-seen-path"), "/fhir/Patient/123?_format=json");
    assert_eq!(a.header("x-seen-tenant"), "acme");
    assert_eq!(a.header("x-seen-xff"), "127.0.0.1");
    assert_eq!(a.header("x-seen-proto"), "http");
    assert_eq!(
        a.header("x-seen-forwarded"),
        format!("for=127.0.0.1;proto=http;host=\"{addr}\""),
        "the client's Host travels in Forwarded (RFC 7239 host=)"
    );
    assert_eq!(
        a.header("x-seen-request-id"),
        "3f2b8c1e-9a4d-4c2e-8f1a-0b6c2d7e9f10"
    );
    assert_eq!(
        a.header("x-seen-secret"),
        "",
        "a header named by Connection is hop-by-hop"
    );
    assert_eq!(a.header("x-seen-host"), s.legacy.addr.to_string());
    assert_eq!(a.header("x-ehrgate-route"), "fhir");
    assert_eq!(a.header("x-ehrgate-arm"), "stable");
    assert_eq!(
        a.header("x-request-id"),
        "3f2b8c1e-9a4d-4c2e-8f1a-0b6c2d7e9f10"
    );

    // a free-form id (it could carry a record number) is replaced by a
    // generated one, upstream and in the response alike
    let a = send(
        &c,
        addr,
        "GET",
        "/fhir/Patient/1",
        &[("x-tenant-id", "acme"), ("x-request-id", "MRN-000123456")],
        Bytes::new(),
    )
    .await;
    let rid = a.header("x-request-id").to_string();
    assert!(rid.len() >= 16 && rid != "MRN-000123456", "{rid}");
    assert_eq!(a.header("x-seen-request-id"), rid);

    // a generated request id when none is sent
    let a = get(&c, addr, "/fhir/Patient/1", "acme").await;
    let rid = a.header("x-request-id").to_string();
    assert!(rid.len() >= 16, "{rid}");
    assert_eq!(a.header("x-seen-request-id"), rid);
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_unknown_tenants_are_refused_and_never_forwarded() {
    let s = setup().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    let a = send(&c, addr, "GET", "/fhir/Patient/1", &[], Bytes::new()).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.header("content-type"), "application/fhir+json");
    assert_eq!(a.outcome_code(), "tenant.missing");
    let a = get(&c, addr, "/fhir/Patient/1", "nobody").await;
    assert_eq!(a.status, 403);
    assert_eq!(a.outcome_code(), "tenant.unknown");
    assert_eq!(s.legacy.hits() + s.new.hits() + s.b_only.hits(), 0);
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_never_reaches_a_backend_only_tenant_b_routes_name() {
    let s = setup().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    // globex, by path prefix: reaches b-only with both prefixes stripped
    let a = send(
        &c,
        addr,
        "GET",
        "/t/globex/private/x?y=1",
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "b-only"), "{a:?}");
    assert_eq!(a.header("x-seen-path"), "/base/x?y=1");
    assert_eq!(a.header("x-seen-tenant"), "globex");
    let before = s.b_only.hits();
    for path in [
        "/private/x",
        "/private",
        "/t/globex/private/x",
        "/private/../private/x",
    ] {
        let a = get(&c, addr, path, "acme").await;
        assert_ne!(a.body, "b-only", "{path}: {a:?}");
    }
    // the header names acme first (header comes before path in the order)
    assert_eq!(s.b_only.hits(), before);
    let a = get(&c, addr, "/private/x", "acme").await;
    assert_eq!((a.status, a.outcome_code().as_str()), (404, "route.none"));
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_send_a_tenant_to_the_canary() {
    let s = setup().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    for i in 0..20 {
        let a = get(&c, addr, &format!("/fhir/Patient/p{i}"), "globex").await;
        assert_eq!(
            (a.body.as_str(), a.header("x-ehrgate-arm")),
            ("new", "canary")
        );
        let a = get(&c, addr, &format!("/fhir/Patient/p{i}"), "acme").await;
        assert_eq!(
            (a.body.as_str(), a.header("x-ehrgate-arm")),
            ("legacy", "stable")
        );
    }
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_within_limits() {
    let s = setup().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    let ok = send(
        &c,
        addr,
        "POST",
        "/fhir/Patient",
        &[("x-tenant-id", "acme")],
        Bytes::from(vec![b'a'; 90_000]),
    )
    .await;
    assert_eq!(
        (ok.status, ok.body.as_str()),
        (200, "legacy got 90000 bytes")
    );
    let big = send(
        &c,
        addr,
        "POST",
        "/fhir/Patient",
        &[("x-tenant-id", "acme")],
        Bytes::from(vec![b'a'; 100_001]),
    )
    .await;
    assert_eq!(big.status, 413);
    assert_eq!(big.outcome_code(), "request.too-large");
    let a = get(&c, addr, "/fhir/big/150000", "acme").await;
    assert_eq!((a.status, a.body.len()), (200, 150_000));
    let a = get(&c, addr, "/fhir/big/250000", "acme").await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (502, "upstream.response-too-large")
    );
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_backend_times_out_with_504() {
    let s = setup_without_failover().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    let a = get(&c, addr, "/fhir/slow", "acme").await;
    assert_eq!(a.status, 504);
    assert_eq!(a.outcome_code(), "upstream.timeout");
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_backend_gives_502_then_503_after_ejection() {
    let s = setup_without_failover().await;
    let addr = s.gw.local_addrs()[0];
    let c = client();
    s.legacy.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let a = get(&c, addr, "/fhir/Patient/1", "acme").await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (502, "upstream.connect"),
        "{a:?}"
    );
    for _ in 0..5 {
        get(&c, addr, "/fhir/Patient/1", "acme").await;
    }
    let a = get(&c, addr, "/fhir/Patient/1", "acme").await;
    assert_eq!(
        (a.status, a.outcome_code().as_str()),
        (503, "upstream.unavailable"),
        "{a:?}"
    );
    // the other arm is unaffected
    let a = get(&c, addr, "/fhir/Patient/1", "globex").await;
    assert_eq!(a.status, 200);
    s.gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_in_flight_requests() {
    let legacy = TestUpstream::start("legacy").await;
    let new = TestUpstream::start("new").await;
    let b = TestUpstream::start("b-only").await;
    let dir = ConfigDir::new(
        &config(&legacy, &new, &b, "")
            .replace("request_timeout_ms = 500", "request_timeout_ms = 5000"),
    );
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let c = client();
    let in_flight = tokio::spawn(async move { get(&c, addr, "/fhir/slow", "acme").await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    gw.shutdown().await;
    let a = in_flight.await.unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    // and nothing is accepted any more
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
