//! Issue 26, item 8: out of file handles, an accept loop backs off and
//! logs once per interval instead of one warning every 20 ms; once handles
//! are back it accepts again. One test in this binary: it lowers the
//! process's own file limit and installs the log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{getrlimit, setrlimit, Resource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lowest file descriptor number not in use: with the soft limit set
/// to it, the next socket or file fails with EMFILE.
fn lowest_free_fd() -> u64 {
    let open: std::collections::HashSet<u64> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !open.contains(n)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_handles_the_accept_loop_backs_off_and_logs_once() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let text = "[[listener]]\nbind = \"127.0.0.1:0\"\n\n[[tenant]]\nid = \"acme\"\n";
    let loaded = ehrgate::config::load_str(text, Path::new("/tmp/backoff.toml")).unwrap();
    let gw = ehrgate::Gateway::start(loaded).await.unwrap();
    let addr = gw.local_addrs()[0];
    // Clients in another process (this one will have no handles left):
    // they connect after the limit is lowered and wait in the backlog.
    let mut clients = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import socket,time\ntime.sleep(0.5)\ns=[socket.create_connection(('127.0.0.1',{}))for _ in range(5)]\ntime.sleep(3)",
            addr.port()
        ))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let saved = getrlimit(Resource::Nofile);
    let lowered = rustix::process::Rlimit {
        current: Some(lowest_free_fd()),
        maximum: saved.maximum,
    };
    setrlimit(Resource::Nofile, lowered).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    setrlimit(Resource::Nofile, saved).unwrap();
    let logged = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    let failures = logged
        .lines()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert!(
        (1..=2).contains(&failures),
        "{failures} accept-failure lines in 1.5 s without handles:\n{logged}"
    );
    assert!(logged.contains("exhausted=true"), "{logged}");
    // Handles back: the waiting connections are accepted and served.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 ");
    let _ = clients.wait();
    gw.shutdown().await;
}
