//! The durable inbound queue of enhanced acknowledgement mode, over real
//! TCP on 127.0.0.1: `CA` only once the message is on disk, delivery from
//! the queue with the application ack after it, in order while the
//! destination comes back, `CR` when the queue is full, a corrupt segment
//! tail cut at start, pending messages delivered after a restart (and after
//! a SIGKILL of the `ehrgate` process between `CA` and delivery) exactly
//! once, and replays after a restart acknowledged without a second
//! delivery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ehrgate::mllp::FeedStats;
use mllp_support::*;

/// An ADT^A01 in enhanced mode (MSH-15 AL, MSH-16 AL).
fn enhanced(id: &str, patient: &str) -> Vec<u8> {
    String::from_utf8(adt(id, patient))
        .unwrap()
        .replace("|P|2.5.1\r", "|P|2.5.1|||AL|AL\r")
        .into_bytes()
}

/// A free port on 127.0.0.1 (bound, then released).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Backends, route and `[mllp.queue]` for a receiver at `recv`.
fn queued(recv: SocketAddr, dir: &Path, extra: &str) -> String {
    config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"legacy\"\n\n\
         [mllp.queue]\ndir = \"{}\"\nretry_backoff_min_ms = 30\nretry_backoff_max_ms = 150\n{extra}",
        mllp_backend("legacy", recv, 1000),
        dir.display()
    ))
}

/// Waits until `f` holds (up to 10 s).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn count(recv: &TestReceiver, id: &str) -> usize {
    recv.received().iter().filter(|i| *i == id).count()
}

/// Every byte of the queue's segment files.
fn queue_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        out.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_ack_after_the_fsync_then_application_ack_after_delivery() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&queued(recv.addr, dir.path(), "")).await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    c.send(&enhanced("Q1", "P1")).await;
    let commit = c.recv().await.unwrap();
    assert_eq!((commit.code.as_str(), commit.msa2.as_str()), ("CA", "Q1"));
    let app = c.recv().await.unwrap();
    assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AA", "Q1"));
    assert_eq!(recv.received(), ["Q1"]);

    // The destination finds an error: final, the application ack says AE.
    recv.set(Behaviour::Ack("AE"));
    c.send(&enhanced("Q2", "P1")).await;
    assert_eq!(c.recv().await.unwrap().code, "CA");
    let app = c.recv().await.unwrap();
    assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AE", "Q2"));
    assert_eq!(count(&recv, "Q2"), 1, "an AE is not retried");

    // Original mode does not go through the queue.
    recv.set(Behaviour::Ack("AA"));
    assert_eq!(c.call(&adt("O1", "P1")).await.code, "AA");
    let stats = gw.mllp_stats().unwrap();
    assert_eq!(FeedStats::get(&stats.queued), 2);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_down_then_back_delivers_in_order_with_application_acks() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&queued(addr, dir.path(), "")).await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let ids: Vec<String> = (0..5).map(|i| format!("D{i}")).collect();
    for id in &ids {
        c.send(&enhanced(id, "P1")).await;
        let commit = c.recv().await.unwrap();
        assert_eq!(
            (commit.code.as_str(), commit.msa2.as_str()),
            ("CA", id.as_str())
        );
    }
    let queued_bytes = queue_bytes(dir.path());
    for id in &ids {
        assert!(
            contains(&queued_bytes, format!("|{id}|P|").as_bytes()),
            "{id} is on disk once CA went out"
        );
    }
    let recv = TestReceiver::start_on(addr, Behaviour::Ack("AA")).await;
    for id in &ids {
        let app = c.recv().await.unwrap();
        assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AA", id.as_str()));
    }
    assert_eq!(recv.received(), ids, "delivered once each, in order");
    let stats = gw.mllp_stats().unwrap();
    assert!(FeedStats::get(&stats.queue_retries) > 0);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_commit_reject() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&queued(addr, dir.path(), "max_records = 2\n")).await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    assert_eq!(c.call(&enhanced("F1", "P1")).await.code, "CA");
    assert_eq!(c.call(&enhanced("F2", "P1")).await.code, "CA");
    let full = c.call(&enhanced("F3", "P1")).await;
    assert_eq!((full.code.as_str(), full.msa2.as_str()), ("CR", "F3"));
    assert!(full.err_text.contains("queue is full"), "{full:?}");
    assert!(
        !contains(&queue_bytes(dir.path()), b"|F3|P|"),
        "a refused message is not kept"
    );
    // Once the destination is back and the queue drains, F3 is taken.
    let recv = TestReceiver::start_on(addr, Behaviour::Ack("AA")).await;
    for _ in 0..2 {
        assert_eq!(c.recv().await.unwrap().code, "AA");
    }
    let again = c.call(&enhanced("F3", "P1")).await;
    assert_eq!(again.code, "CA", "the sender's resend after CR is accepted");
    assert_eq!(c.recv().await.unwrap().code, "AA");
    assert_eq!(recv.received(), ["F1", "F2", "F3"]);
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_cuts_a_corrupt_tail_and_delivers_pending_messages_once() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let text = queued(addr, dir.path(), "");
    {
        let gw = gateway(&text).await;
        let mut c = Client::connect(gw.mllp_addrs()[0]).await;
        assert_eq!(c.call(&enhanced("R1", "P1")).await.code, "CA");
        assert_eq!(c.call(&enhanced("R2", "P2")).await.code, "CA");
        gw.shutdown().await;
    }
    // A crash in the middle of the next write: half a record at the end.
    let mut segs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    segs.sort();
    let last = segs.last().unwrap().clone();
    let good_len = std::fs::metadata(&last).unwrap().len();
    let mut torn = std::fs::read(&last).unwrap();
    torn.extend_from_slice(&[1, 200, 0, 0, 0, 9, 9, 9, 9, b'M', b'S', b'H']);
    std::fs::write(&last, &torn).unwrap();

    let recv = TestReceiver::start_on(addr, Behaviour::Ack("AA")).await;
    let gw = gateway(&text).await;
    eventually("R1 and R2 delivered", || recv.received().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(recv.received(), ["R1", "R2"], "each exactly once, in order");
    assert_eq!(
        std::fs::metadata(&last)
            .map(|m| m.len())
            .unwrap_or(good_len),
        good_len,
        "the torn tail was cut back to the last good record"
    );
    let stats = gw.mllp_stats().unwrap();
    assert_eq!(FeedStats::get(&stats.queue_recovered), 2);
    eventually("both marked done", || {
        FeedStats::get(&stats.queue_done) == 2
    })
    .await;
    assert_eq!(
        FeedStats::get(&stats.app_acks_unsent),
        2,
        "their connection is gone: no application ack, counted"
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_restart_is_acknowledged_without_a_second_delivery() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let dir = tempfile::tempdir().unwrap();
    let text = queued(recv.addr, dir.path(), "");
    {
        let gw = gateway(&text).await;
        let mut c = Client::connect(gw.mllp_addrs()[0]).await;
        c.send(&enhanced("P1", "P1")).await;
        assert_eq!(c.recv().await.unwrap().code, "CA");
        assert_eq!(c.recv().await.unwrap().code, "AA");
        assert_eq!(c.call(&adt("O1", "P1")).await.code, "AA", "original mode");
        gw.shutdown().await;
    }
    let gw = gateway(&text).await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    let replay = c.call(&enhanced("P1", "P1")).await;
    assert_eq!((replay.code.as_str(), replay.msa2.as_str()), ("CA", "P1"));
    let replay = c.call(&adt("O1", "P1")).await;
    assert_eq!((replay.code.as_str(), replay.msa2.as_str()), ("AA", "O1"));
    assert_eq!(
        c.call(&adt("O2", "P1")).await.code,
        "AA",
        "a new id is delivered"
    );
    assert_eq!(recv.received(), ["P1", "O1", "O2"], "no second delivery");
    assert_eq!(FeedStats::get(&gw.mllp_stats().unwrap().replays), 2);
    gw.shutdown().await;
}

// === the process killed between CA and delivery ===

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_gateway(config: &Path) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_ehrgate"))
            .args(["serve", "--config"])
            .arg(config)
            .env("EHRGATE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn connect_retry(addr: SocketAddr) -> Client {
    for _ in 0..250 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Client::connect(addr).await;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    panic!("gateway not listening on {addr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_commit_ack_and_delivery_delivers_exactly_once_after_restart() {
    let listen = free_addr();
    let dest = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let queue_dir = dir.path().join("queue");
    let text = queued(dest, &queue_dir, "").replace("127.0.0.1:0", &listen.to_string());
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, text).unwrap();

    let mut first = spawn_gateway(&config);
    let mut c = connect_retry(listen).await;
    for id in ["K1", "K2"] {
        let commit = c.call(&enhanced(id, "P1")).await;
        assert_eq!((commit.code.as_str(), commit.msa2.as_str()), ("CA", id));
    }
    // SIGKILL: no shutdown path runs; only what was fsynced before CA is left.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    drop(c);

    let recv = TestReceiver::start_on(dest, Behaviour::Ack("AA")).await;
    let _second = spawn_gateway(&config);
    eventually("K1 and K2 delivered after the restart", || {
        recv.received().len() >= 2
    })
    .await;
    // A replay of K1 by the sender after the restart: acknowledged, not sent again.
    let mut c = connect_retry(listen).await;
    assert_eq!(c.call(&enhanced("K1", "P1")).await.code, "CA");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recv.received(), ["K1", "K2"], "exactly once each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_until_max_attempts_gets_an_application_reject() {
    let recv = TestReceiver::start(Behaviour::Ack("AR")).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&queued(
        recv.addr,
        dir.path(),
        "max_delivery_attempts = 3\n",
    ))
    .await;
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    c.send(&enhanced("G1", "P1")).await;
    assert_eq!(c.recv().await.unwrap().code, "CA");
    let app = c.recv().await.unwrap();
    assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AR", "G1"));
    assert!(app.err_text.contains("refused"), "{app:?}");
    assert_eq!(count(&recv, "G1"), 3, "three attempts, then given up");
    let stats = gw.mllp_stats().unwrap();
    assert_eq!(FeedStats::get(&stats.queue_retries), 2);
    gw.shutdown().await;
}

/// A queued message is translated once (issue 16): at acceptance, where
/// the check before `CA` needs the Bundle, and that Bundle is what its lane
/// delivers (it was translated a second time for delivery before). An
/// original-mode message, which is not queued, is translated once too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_message_is_translated_once() {
    let fhir = TestFhir::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = config(&format!(
        "{}[[mllp_route]]\nid = \"all\"\nstable = \"fhir\"\n\n\
         [mllp.queue]\ndir = \"{}\"\nretry_backoff_min_ms = 30\nretry_backoff_max_ms = 150\n",
        fhir_backend("fhir", fhir.addr),
        dir.path().display()
    ));
    let gw = gateway(&text).await;
    let stats = gw.mllp_stats().unwrap().clone();
    let mut c = Client::connect(gw.mllp_addrs()[0]).await;
    c.send(&enhanced("T1", "P1")).await;
    assert_eq!(c.recv().await.unwrap().code, "CA");
    let app = c.recv().await.unwrap();
    assert_eq!((app.code.as_str(), app.msa2.as_str()), ("AA", "T1"));
    assert_eq!(fhir.count(), 1);
    assert_eq!(FeedStats::get(&stats.queued), 1);
    assert_eq!(FeedStats::get(&stats.translations), 1, "queued: once");

    assert_eq!(c.call(&adt("T2", "P2")).await.code, "AA");
    assert_eq!(fhir.count(), 2);
    assert_eq!(
        FeedStats::get(&stats.translations),
        2,
        "original mode: once"
    );
    gw.shutdown().await;
}
