//! Issue 26, item 8: an HTTP listener's `max_connections`. One connection
//! over it is closed at once (before any byte is read) and counted; a
//! place given back is taken by the next client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 16];
    matches!(
        tokio::time::timeout(wait, s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_refuses_the_connection_over_its_limit() {
    let text = r#"
[[listener]]
bind = "127.0.0.1:0"
max_connections = 3

[[tenant]]
id = "acme"
"#;
    let loaded = ehrgate::config::load_str(text, Path::new("/tmp/limits.toml")).unwrap();
    let gw = ehrgate::Gateway::start(loaded).await.unwrap();
    let addr = gw.local_addrs()[0];
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut over = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut over, Duration::from_secs(2)).await,
        "the 4th is closed"
    );
    for s in &mut held {
        assert!(
            !closed_within(s, Duration::from_millis(50)).await,
            "the first 3 stay open"
        );
    }
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = TcpStream::connect(addr).await.unwrap();
    next.write_all(b"GET /nothing HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 9];
    next.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 ");
    let scrape =
        ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &gw.shared().load());
    assert!(
        scrape.contains(
            "ehrgate_connections_refused_total{listener=\"127.0.0.1:0\",reason=\"listener_limit\"} 1"
        ),
        "{scrape}"
    );
    drop(held);
    gw.shutdown().await;
}
