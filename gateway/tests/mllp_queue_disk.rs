//! Issue 26, item 10: the durable queue on a full disk. On a 1 MiB tmpfs
//! the queue fills while the destination refuses; new messages get `CR`
//! naming the condition (no file path); once the destination accepts
//! again, delivered segments are freed without an operator and `CA`
//! resumes within 5 s.
//!
//! Needs `mount -t tmpfs` (root). Without it the test is skipped with a
//! loud message, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mllp_support::*;

/// A mounted 1 MiB tmpfs, unmounted on drop.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { path, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// An enhanced-mode ADT (MSH-15 AL, MSH-16 NE: `CA` only) of about 8 KB.
fn big_enhanced(id: &str) -> Vec<u8> {
    let mut m = String::from_utf8(adt(id, "P1"))
        .unwrap()
        .replace("|P|2.5.1\r", "|P|2.5.1|||AL|NE\r");
    m.push_str(&format!("NTE|1||{}\r", "x".repeat(8000)));
    m.into_bytes()
}

fn gauge(gw: &ehrgate::Gateway) -> u64 {
    let scrape =
        ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &gw.shared().load());
    scrape
        .lines()
        .find_map(|l| l.strip_prefix("ehrgate_mllp_queue_disk_full "))
        .unwrap()
        .parse()
        .unwrap()
}

fn queued(recv: std::net::SocketAddr, dir: &Path, segment_bytes: u64) -> String {
    config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"legacy\"\n\n\
         [mllp.queue]\ndir = \"{}\"\nretry_backoff_min_ms = 30\nretry_backoff_max_ms = 150\n\
         segment_bytes = {segment_bytes}\nmax_bytes = 67108864\nreserve_bytes = 131072\n",
        mllp_backend("legacy", recv, 1000),
        dir.display()
    ))
}

/// Small segments: the disk fills with many, all but the active one are
/// freed once delivered (their replay entries carried forward through the
/// reserve).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_recovers_without_an_operator_once_messages_are_delivered() {
    fill_then_recover(65536).await;
}

/// The default segment size (8 MiB) on a 1 MiB disk: every message sits
/// in the active segment, which is rolled once all in it are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_recovers_when_everything_is_in_the_active_segment() {
    fill_then_recover(8 * 1024 * 1024).await;
}

async fn fill_then_recover(segment_bytes: u64) {
    let Some(disk) = SmallDisk::mount() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("cannot mount a 1 MiB tmpfs (root needed); this test must run in CI");
        }
        eprintln!("\n\n*** SKIPPED mllp_queue_disk: cannot mount a tmpfs (not root?) ***\n\n");
        return;
    };
    let dir = disk.path.join("queue");
    let recv = TestReceiver::start(Behaviour::Ack("AR")).await;
    let gw = gateway(&queued(recv.addr, &dir, segment_bytes)).await;
    assert!(
        dir.join("reserve.bin").exists(),
        "the reserve is written at open"
    );
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;

    // The destination refuses: messages pile up until the disk is full.
    let mut accepted = Vec::new();
    let mut refusal = None;
    for i in 0..400 {
        let id = format!("F{i}");
        let ack = c.call(&big_enhanced(&id)).await;
        match ack.code.as_str() {
            "CA" => accepted.push(id),
            "CR" => {
                refusal = Some(ack);
                break;
            }
            other => panic!("unexpected {other}: {ack:?}"),
        }
    }
    let refusal = refusal.expect("the disk fills up");
    assert!(accepted.len() > 50, "only {} accepted", accepted.len());
    let dir_text = disk.path.display().to_string();
    assert!(
        !refusal.err_text.contains(&dir_text) && !refusal.err_text.contains('/'),
        "no path in the NACK: {refusal:?}"
    );
    assert!(
        refusal.err_text.contains("queue storage full"),
        "the condition is named: {refusal:?}"
    );
    assert_eq!(gauge(&gw), 1, "the disk-full gauge is up");
    // Still full while nothing is delivered.
    let again = c.call(&big_enhanced("still-full")).await;
    assert_eq!(again.code, "CR");
    assert!(!again.err_text.contains('/'), "{again:?}");

    // The destination accepts again: CA resumes within 5 s.
    recv.set(Behaviour::Ack("AA"));
    let t0 = Instant::now();
    let mut resumed = None;
    let mut n = 0;
    while t0.elapsed() < Duration::from_secs(8) {
        n += 1;
        let ack = c.call(&big_enhanced(&format!("R{n}"))).await;
        if ack.code == "CA" {
            resumed = Some(t0.elapsed());
            break;
        }
        assert_eq!(ack.code, "CR", "{ack:?}");
        assert!(!ack.err_text.contains('/'), "{ack:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = resumed.expect("CA resumes");
    assert!(
        resumed < Duration::from_secs(5),
        "CA resumed after {resumed:?}"
    );
    eprintln!("CA resumed {resumed:?} after the destination accepted again");
    // Every message accepted before is delivered.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = recv.received();
        if accepted.iter().all(|id| got.contains(id)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all accepted messages delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gauge(&gw), 0, "the gauge is down again");
    assert_eq!(
        metric(&gw, "ehrgate_mllp_queue_disk_full_total "),
        1,
        "one episode (and its one log line), not one per refused message"
    );
    drop(c);
    gw.shutdown().await;
    drop(disk);
}

fn metric(gw: &ehrgate::Gateway, prefix: &str) -> u64 {
    let scrape =
        ehrgate::telemetry::exposition::render(&gw.shared().telemetry.metrics, &gw.shared().load());
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap()
        .parse()
        .unwrap()
}
