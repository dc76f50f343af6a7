//! Issue 26, item 8: MLLP connection limits. Connections over a listener's
//! `max_connections` or `max_connections_per_source` are closed at once,
//! counted, and the HTTP data and admin listeners keep answering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::net::SocketAddr;
use std::time::Duration;

use mllp_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The gateway config: one HTTP listener, the admin API, one MLLP
/// listener with the given limits.
fn limited(recv: SocketAddr, dir: &std::path::Path, max: usize, per_source: usize) -> String {
    std::fs::write(dir.join("ops.secret"), "ops-secret-0123456789abcdef").unwrap();
    let routes = format!(
        "{}\n[[mllp_route]]\nid = \"adt\"\nstable = \"legacy\"\n",
        mllp_backend("legacy", recv, 5000)
    );
    let text = config(&routes).replacen(
        "[[mllp_listener]]\nbind = \"127.0.0.1:0\"\n",
        &format!(
            "[[mllp_listener]]\nbind = \"127.0.0.1:0\"\nmax_connections = {max}\nmax_connections_per_source = {per_source}\n"
        ),
        1,
    );
    format!(
        "{text}\n[[listener]]\nbind = \"127.0.0.1:0\"\n\n[admin]\nbind = \"127.0.0.1:0\"\nstate_file = \"{}\"\n[[admin.token]]\nname = \"ops\"\nrole = \"write\"\nsecret_file = \"{}\"\n",
        dir.join("release.json").display(),
        dir.join("ops.secret").display()
    )
}

/// Whether the gateway closed `s` (EOF or reset) within `wait`.
async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 16];
    matches!(
        tokio::time::timeout(wait, s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// A status line from an HTTP listener within 100 ms of asking.
async fn http_answers(addr: SocketAddr) -> bool {
    let ask = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut b = [0u8; 12];
        s.read_exact(&mut b).await.ok()?;
        Some(b.starts_with(b"HTTP/1.1 "))
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(100), ask).await,
        Ok(Some(true))
    )
}

fn refused(gw: &ehrgate::Gateway, reason: &str) -> u64 {
    let scrape =
        ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &gw.shared().load());
    let prefix = format!(
        "ehrgate_connections_refused_total{{listener=\"127.0.0.1:0\",reason=\"{reason}\"}} "
    );
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_21st_connection_is_refused_while_http_and_admin_answer() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&limited(recv.addr, dir.path(), 20, 20)).await;
    let mllp = gw.mllp_addrs()[0];
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(Client::connect(mllp).await);
    }
    // Each of the 20 is served (and so counted as open).
    for (i, c) in held.iter_mut().enumerate() {
        assert_eq!(c.call(&adt(&format!("H{i}"), "P")).await.code, "AA");
    }
    let mut over = TcpStream::connect(mllp).await.unwrap();
    assert!(
        closed_within(&mut over, Duration::from_secs(2)).await,
        "the 21st is closed"
    );
    assert_eq!(refused(&gw, "listener_limit"), 1);
    assert!(
        http_answers(gw.local_addrs()[0]).await,
        "HTTP data listener"
    );
    assert!(
        http_answers(gw.admin_addr().unwrap()).await,
        "admin listener"
    );
    // The held ones still work; one closed gives its place back.
    assert_eq!(held[0].call(&adt("again", "P")).await.code, "AA");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = Client::connect(mllp).await;
    assert_eq!(next.call(&adt("next", "P")).await.code, "AA");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_cannot_take_more_than_its_share() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&limited(recv.addr, dir.path(), 20, 3)).await;
    let mllp = gw.mllp_addrs()[0];
    let mut held = Vec::new();
    for i in 0..3 {
        let mut c = Client::connect(mllp).await;
        assert_eq!(c.call(&adt(&format!("S{i}"), "P")).await.code, "AA");
        held.push(c);
    }
    let mut over = TcpStream::connect(mllp).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(2)).await);
    assert_eq!(refused(&gw, "source_limit"), 1);
    assert_eq!(refused(&gw, "listener_limit"), 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changes_the_caps_of_a_kept_listener() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&limited(recv.addr, dir.path(), 20, 20)).await;
    let mllp = gw.mllp_addrs()[0];
    let mut a = Client::connect(mllp).await;
    let mut b = Client::connect(mllp).await;
    assert_eq!(a.call(&adt("A", "P")).await.code, "AA");
    assert_eq!(b.call(&adt("B", "P")).await.code, "AA");
    let lower = limited(recv.addr, dir.path(), 2, 2);
    gw.reload(
        ehrgate::config::load_str(&lower, std::path::Path::new("/tmp/mllp-test.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(gw.mllp_addrs()[0], mllp, "the listener is kept");
    let mut over = TcpStream::connect(mllp).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(2)).await);
    assert_eq!(refused(&gw, "listener_limit"), 1);
    assert_eq!(a.call(&adt("A2", "P")).await.code, "AA", "open ones stay");
    gw.shutdown().await;
}
