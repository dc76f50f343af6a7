//! Retries on real sockets: an idempotent request whose upstream connection
//! dies before any response is sent again (within the budget); a request
//! with a body never is, and an empty budget stops retries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::{client, get, send, start_gateway, ConfigDir, TestUpstream};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// An upstream whose first `drops` connections are accepted and closed
/// at once (the request is read by nobody, no response is written); later
/// connections are proxied to a healthy test upstream.
struct Flaky {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    _behind: TestUpstream,
}

impl Flaky {
    async fn start(drops: usize) -> Flaky {
        let behind = TestUpstream::start("flaky").await;
        let target = behind.addr;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                if n < drops {
                    // Linger 0 makes the close a reset, as a crashing
                    // backend's kernel would send.
                    let _ = down.set_zero_linger();
                    let _ = down.shutdown().await;
                    drop(down);
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
        });
        Flaky {
            addr,
            connections,
            _behind: behind,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn config(upstream: SocketAddr, budget_ratio: f64, min_per_sec: u32) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
max_attempts = 2
retry_budget_ratio = {budget_ratio}
retry_budget_min_per_sec = {min_per_sec}

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "flaky"
url = "http://{upstream}"
kind = "fhir"

[backend.outlier]
consecutive_failures = 100

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "flaky"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_request_is_retried_after_a_reset_before_the_response() {
    let flaky = Flaky::start(1).await;
    let dir = ConfigDir::new(&config(flaky.addr, 0.2, 10));
    let gw = start_gateway(&dir.path()).await;
    let c = client();
    let a = get(&c, gw.local_addrs()[0], "/fhir/Patient/1", "acme").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body, "flaky");
    assert_eq!(flaky.connections(), 2, "one dropped attempt, one retry");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_with_a_body_is_not_retried() {
    let flaky = Flaky::start(1).await;
    let dir = ConfigDir::new(&config(flaky.addr, 0.2, 10));
    let gw = start_gateway(&dir.path()).await;
    let c = client();
    let a = send(
        &c,
        gw.local_addrs()[0],
        "POST",
        "/fhir/Observation",
        &[
            ("x-tenant-id", "acme"),
            ("content-type", "application/fhir+json"),
        ],
        Bytes::from_static(b"{\"resourceType\":\"Observation\"}"),
    )
    .await;
    assert_eq!(a.status, 502, "{a:?}");
    // hyper reports a connection that dies before the request is written
    // as a connect failure; either way the backend is at fault.
    assert!(a.outcome_code().starts_with("upstream."), "{a:?}");
    assert_eq!(flaky.connections(), 1, "a POST is sent once");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_retry_budget_stops_retries() {
    let flaky = Flaky::start(1).await;
    // ratio 0 and no floor: the budget never allows a retry.
    let dir = ConfigDir::new(&config(flaky.addr, 0.0, 0));
    let gw = start_gateway(&dir.path()).await;
    let c = client();
    let a = get(&c, gw.local_addrs()[0], "/fhir/Patient/1", "acme").await;
    assert_eq!(a.status, 502, "{a:?}");
    assert_eq!(flaky.connections(), 1, "no budget, no retry");
    gw.shutdown().await;
}
