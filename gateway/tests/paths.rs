//! Request-target paths (issue 26 item 2), on both HTTP/1.1 engines and
//! h2: dot segments are resolved (RFC 3986 section 5.2.4) before the tenant
//! and the route are chosen, and the backend gets the resolved path with
//! the query byte for byte; dot segments in disguise (`%2e%2e`, `..%2f`,
//! `..\`), encoded slashes and backslashes (`[server]
//! reject_encoded_slash`), encoded control bytes and fragments are refused
//! with 400 and an OperationOutcome, never forwarded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod raw_client;

use bytes::Bytes;
use common::{start_gateway, ConfigDir, TestUpstream};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const ENGINES: [&str; 2] = ["native", "hyper"];

/// Tenants by path prefix (`/north`, `/south`), each served by its own
/// backend under its own base path; FHIR routes for the tenant `acme`
/// (header), `Patient` on a backend of its own.
fn config(stores: &Stores, engine: &str, extra: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
http1_engine = "{engine}"
{extra}

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "north-store"
url = "{north}/north-only"
kind = "http"

[[backend]]
name = "south-store"
url = "{south}/south-only"
kind = "http"

[[backend]]
name = "legacy"
url = "{legacy}"
kind = "fhir"

[[backend]]
name = "patients"
url = "{patients}"
kind = "fhir"

[tenancy]
resolve = ["path", "header"]

[[tenant]]
id = "north"
path_prefix = "/north"

[[tenant]]
id = "south"
path_prefix = "/south"

[[tenant]]
id = "acme"

[[route]]
id = "north"
path_prefix = "/"
tenants = ["north"]
stable = "north-store"

[[route]]
id = "south"
path_prefix = "/"
tenants = ["south"]
stable = "south-store"

[[route]]
id = "patient"
path_prefix = "/fhir"
resource_types = ["Patient"]
tenants = ["acme"]
stable = "patients"

[[route]]
id = "fhir"
path_prefix = "/fhir"
tenants = ["acme"]
stable = "legacy"
"#,
        north = stores.north.url(),
        south = stores.south.url(),
        legacy = stores.legacy.url(),
        patients = stores.patients.url(),
    )
}

struct Stores {
    north: TestUpstream,
    south: TestUpstream,
    legacy: TestUpstream,
    patients: TestUpstream,
}

impl Stores {
    async fn start() -> Stores {
        Stores {
            north: TestUpstream::start("north").await,
            south: TestUpstream::start("south").await,
            legacy: TestUpstream::start("legacy").await,
            patients: TestUpstream::start("patients").await,
        }
    }

    fn hits(&self) -> usize {
        self.north.hits() + self.south.hits() + self.legacy.hits() + self.patients.hits()
    }
}

const ACME: &str = "x-tenant-id: acme\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_base_path_cannot_be_walked_out_of() {
    for engine in ENGINES {
        let stores = Stores::start().await;
        let dir = ConfigDir::new(&config(&stores, engine, ""));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        for target in [
            "/north/../south/secret",
            "/north/a/../../south/secret",
            "/north/./../south/./secret",
        ] {
            let r = raw_client::get(addr, target, "").await;
            assert_eq!(r.status, 200, "{engine} {target}: {r:?}");
            assert_eq!(r.header("x-upstream"), Some("south"), "{engine} {target}");
            assert_eq!(
                r.header("x-seen-path"),
                Some("/south-only/secret"),
                "{engine} {target}: the backend sees the resolved path"
            );
        }
        assert_eq!(stores.north.hits(), 0, "{engine}: north never saw them");
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_sees_the_resolved_path_and_the_query_is_kept() {
    for engine in ENGINES {
        let stores = Stores::start().await;
        let dir = ConfigDir::new(&config(&stores, engine, ""));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        for (target, upstream, seen) in [
            ("/fhir/Foo/../Patient", "patients", "/fhir/Patient"),
            ("/fhir/Foo/../Patient/1", "patients", "/fhir/Patient/1"),
            ("/fhir/./Patient/2", "patients", "/fhir/Patient/2"),
            ("/../../fhir/Patient/3", "patients", "/fhir/Patient/3"),
            (
                "/fhir/Patient/../Observation",
                "legacy",
                "/fhir/Observation",
            ),
            ("/fhir/Patient/4/.", "patients", "/fhir/Patient/4/"),
            (
                "/fhir/Foo/../Patient?name=a%2Fb&x=../..%2f&y=%2e%2e",
                "patients",
                "/fhir/Patient?name=a%2Fb&x=../..%2f&y=%2e%2e",
            ),
            // a dot that is not a whole segment is data
            ("/fhir/Patient/a.b..c", "patients", "/fhir/Patient/a.b..c"),
            ("/fhir/Patient/a%2eb", "patients", "/fhir/Patient/a%2eb"),
        ] {
            let r = raw_client::get(addr, target, ACME).await;
            assert_eq!(r.status, 200, "{engine} {target}: {r:?}");
            assert_eq!(r.header("x-upstream"), Some(upstream), "{engine} {target}");
            assert_eq!(r.header("x-seen-path"), Some(seen), "{engine} {target}");
        }
        gw.shutdown().await;
    }
}

/// Targets refused with 400 and the code of the OperationOutcome, with the
/// default `reject_encoded_slash = true`.
const REFUSED: [(&str, &str); 14] = [
    ("/fhir/%2e%2e/admin", "request.encoded-dot-segment"),
    ("/fhir/%2E%2E/admin", "request.encoded-dot-segment"),
    ("/fhir/.%2e/admin", "request.encoded-dot-segment"),
    ("/fhir/%2e/Patient", "request.encoded-dot-segment"),
    ("/north/%2e%2e/south/secret", "request.encoded-dot-segment"),
    ("/fhir/..%2fadmin", "request.encoded-dot-segment"),
    ("/fhir/..%5cadmin", "request.encoded-dot-segment"),
    ("/fhir/..\\admin", "request.encoded-dot-segment"),
    ("/fhir/Patient/a%2Fb", "request.encoded-slash"),
    ("/fhir/Patient/a%2fb", "request.encoded-slash"),
    ("/fhir/Patient/a%5cb", "request.encoded-slash"),
    ("/fhir/Patient/a\\b", "request.encoded-slash"),
    ("/fhir/Patient/a%00b", "request.control-byte"),
    ("/fhir/Patient/a%zzb", "request.bad-percent-encoding"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disguised_dots_slashes_and_control_bytes_are_refused() {
    for engine in ENGINES {
        let stores = Stores::start().await;
        let dir = ConfigDir::new(&config(&stores, engine, ""));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        for (target, code) in REFUSED {
            let r = raw_client::get(addr, target, ACME).await;
            assert_eq!(r.status, 400, "{engine} {target}: {r:?}");
            assert_eq!(r.outcome_code(), code, "{engine} {target}");
            assert!(
                !r.body.contains("admin") && !r.body.contains("a%2"),
                "{engine}: the path is not echoed: {}",
                r.body
            );
        }
        assert_eq!(stores.hits(), 0, "{engine}: nothing was forwarded");
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_in_the_target_is_refused_by_the_native_engine() {
    // hyper's parser (the `http` crate) drops a fragment before the
    // gateway sees the target; the native engine reads the raw bytes.
    let stores = Stores::start().await;
    let dir = ConfigDir::new(&config(&stores, "native", ""));
    let gw = start_gateway(&dir.path()).await;
    let r = raw_client::get(gw.local_addrs()[0], "/fhir/Patient/1#x", ACME).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.outcome_code(), "request.fragment");
    assert_eq!(stores.hits(), 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_slashes_pass_when_the_operator_allows_them() {
    for engine in ENGINES {
        let stores = Stores::start().await;
        let dir = ConfigDir::new(&config(&stores, engine, "reject_encoded_slash = false"));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        for target in [
            "/fhir/Patient/a%2Fb",
            "/fhir/Patient/a%5cb",
            "/fhir/Patient/a\\b",
        ] {
            let r = raw_client::get(addr, target, ACME).await;
            assert_eq!(r.status, 200, "{engine} {target}: {r:?}");
            assert_eq!(
                r.header("x-seen-path"),
                Some(target),
                "{engine}: byte for byte"
            );
        }
        // a dot segment in disguise stays refused whatever the switch says
        for target in ["/fhir/..%2fadmin", "/fhir/a%2f..%2fadmin", "/fhir/..\\x"] {
            let r = raw_client::get(addr, target, ACME).await;
            assert_eq!(r.status, 400, "{engine} {target}: {r:?}");
            assert_eq!(r.outcome_code(), "request.encoded-dot-segment");
        }
        gw.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_targets_are_resolved_and_refused_the_same_way() {
    let stores = Stores::start().await;
    let dir = ConfigDir::new(&config(&stores, "native", ""));
    let gw = start_gateway(&dir.path()).await;
    let addr = gw.local_addrs()[0];
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let get = |target: &str| {
        let req = http::Request::get(format!("http://{addr}{target}"))
            .header("x-tenant-id", "acme")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let h2 = h2.clone();
        async move {
            let resp = h2.request(req).await.unwrap();
            assert_eq!(resp.version(), http::Version::HTTP_2);
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            (parts, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (parts, _) = get("/fhir/Foo/../Patient?q=..%2f").await;
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers["x-upstream"], "patients");
    assert_eq!(parts.headers["x-seen-path"], "/fhir/Patient?q=..%2f");
    for (target, code) in [
        ("/fhir/%2e%2e/admin", "request.encoded-dot-segment"),
        ("/fhir/Patient/a%2Fb", "request.encoded-slash"),
    ] {
        let (parts, body) = get(target).await;
        assert_eq!(parts.status, 400, "{target}: {body}");
        assert!(body.contains(code), "{target}: {body}");
    }
    assert_eq!(stores.patients.hits(), 1);
    assert_eq!(stores.legacy.hits(), 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_is_resolved_and_asterisk_form_still_answers() {
    for engine in ENGINES {
        let stores = Stores::start().await;
        let dir = ConfigDir::new(&config(&stores, engine, ""));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        let r = raw_client::exchange(
            addr,
            b"GET http://gw/fhir/Foo/../Patient/7?a=/../ HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 200, "{engine}: {r:?}");
        assert_eq!(r.header("x-upstream"), Some("patients"), "{engine}");
        assert_eq!(
            r.header("x-seen-path"),
            Some("/fhir/Patient/7?a=/../"),
            "{engine}"
        );
        let r = raw_client::exchange(
            addr,
            b"GET http://gw/fhir/%2e%2e/x HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 400, "{engine}: {r:?}");
        assert_eq!(r.outcome_code(), "request.encoded-dot-segment");
        // asterisk-form names no resource: no route, as before
        let r = raw_client::exchange(
            addr,
            b"OPTIONS * HTTP/1.1\r\nhost: gw\r\nx-tenant-id: acme\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 404, "{engine}: {r:?}");
        assert_eq!(r.outcome_code(), "route.none");
        assert_eq!(stores.patients.hits(), 1, "{engine}");
        assert_eq!(stores.legacy.hits(), 0, "{engine}");
        gw.shutdown().await;
    }
}
