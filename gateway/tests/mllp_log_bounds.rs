//! Issue 26, item 9: what one MLLP connection can make the gateway log.
//! One test in this binary, because it installs the process's log
//! subscriber and counts every line written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mllp_support::*;

/// Every formatted log line, in one buffer.
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

impl Capture {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

fn with_settings(settings: &str, rest: &str) -> String {
    config(rest).replacen("[mllp]\n", &format!("[mllp]\n{settings}\n"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_cannot_flood_the_log() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let routes = format!(
        "{}\n[[mllp_route]]\nid = \"adt\"\nstable = \"legacy\"\n",
        mllp_backend("legacy", recv.addr, 5000)
    );
    // Bad frames never close here: the flood itself is what is bounded.
    let gw = gateway(&with_settings("max_bad_frames = 0", &routes)).await;
    let addr = gw.mllp_addrs()[0];
    capture.take();

    // 1,000 empty frames: 1,000 NACKs, a bounded number of log lines.
    let mut c = Client::connect(addr).await;
    c.send_raw(&b"\x0b\x1c\r".repeat(1000)).await;
    for i in 0..1000 {
        let ack = c.recv().await.unwrap_or_else(|| panic!("NACK {i}"));
        assert_eq!(ack.code, "AE");
    }
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged = capture.take();
    let lines = logged.lines().count();
    assert!(
        lines <= 10,
        "1,000 empty frames gave {lines} log lines:\n{}",
        logged.lines().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(
        logged.contains("suppressed=995"),
        "the summary names what was suppressed:\n{logged}"
    );
    let scrape =
        ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &gw.shared().load());
    assert!(
        scrape.contains("ehrgate_mllp_log_suppressed_total{reason=\"unparsed\"} 995"),
        "{scrape}"
    );

    // A 100 KB control id: delivered and acknowledged, but no log line
    // carries more than its first 64 bytes.
    let long_id = "Z".repeat(100 * 1024);
    let mut c = Client::connect(addr).await;
    let ack = c.call(&adt(&long_id, "P1")).await;
    assert_eq!(ack.code, "AA");
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged = capture.take();
    assert!(
        logged.contains(&"Z".repeat(64)),
        "the id's start is logged: {logged}"
    );
    assert!(
        !logged.contains(&"Z".repeat(65)),
        "no more than 64 bytes of it"
    );
    let longest = logged.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1024, "a log line of {longest} bytes");
    gw.shutdown().await;
}
