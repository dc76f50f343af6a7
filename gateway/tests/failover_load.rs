//! The canary killed under load (issue 26, "must show"): a few hundred GETs
//! per second over patients of both arms for about 10 s; the canary stops
//! (connections closed, port refused) after 3 s. Counts non-2xx answers
//! before the kill, between the kill and the canary's ejection, and after
//! the ejection (must be 0), on each HTTP/1.1 engine. Run by hand:
//!
//! ```text
//! cargo test -p ehrgate --test failover_load -- --ignored --nocapture
//! ```
//!
//! (`bench/hardening/failover.sh` runs it.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client, get, start_gateway, ConfigDir, TestUpstream};

/// Load shape: `TASKS` clients, each one GET every `PERIOD`.
const TASKS: usize = 8;
const PERIOD: Duration = Duration::from_millis(25);
const RUN: Duration = Duration::from_secs(10);
const KILL_AT: Duration = Duration::from_secs(3);

fn config(engine: &str, legacy: &str, new: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
http1_engine = "{engine}"

[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "legacy"
url = "{legacy}"
kind = "fhir"

[[backend]]
name = "new"
url = "{new}"
kind = "fhir"

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy"
canary = "new"
weight = 50
sticky = "patient"
"#
    )
}

/// One answer: when (ms since start), its status, whether it was moved.
type Sample = (u64, u16, bool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test, run by hand (about 25 s)"]
async fn canary_killed_under_load_gives_no_get_error_after_ejection() {
    for engine in ["native", "hyper"] {
        let legacy = TestUpstream::start("legacy").await;
        let new = TestUpstream::start("new").await;
        let dir = ConfigDir::new(&config(engine, &legacy.url(), &new.url()));
        let gw = start_gateway(&dir.path()).await;
        let addr = gw.local_addrs()[0];
        let start = Instant::now();
        let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
        // The first moment the canary is seen ejected (ms), u64::MAX until.
        let ejected_at = Arc::new(AtomicU64::new(u64::MAX));
        let shared = gw.shared().clone();
        let watch = {
            let ejected_at = ejected_at.clone();
            tokio::spawn(async move {
                while start.elapsed() < RUN {
                    let snap = shared.load();
                    if !snap.backends[1].upstream.health.available() {
                        let ms = start.elapsed().as_millis() as u64;
                        let _ = ejected_at.compare_exchange(
                            u64::MAX,
                            ms,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let samples = samples.clone();
            tasks.push(tokio::spawn(async move {
                let c = client();
                let mut tick = tokio::time::interval(PERIOD);
                let mut i = t;
                while start.elapsed() < RUN {
                    tick.tick().await;
                    let a = get(&c, addr, &format!("/fhir/Patient/p{}", i % 500), "acme").await;
                    let ms = start.elapsed().as_millis() as u64;
                    let moved = !a.header("x-ehrgate-failover").is_empty();
                    samples.lock().unwrap().push((ms, a.status, moved));
                    i += TASKS;
                }
            }));
        }
        tokio::time::sleep(KILL_AT).await;
        let killed_ms = start.elapsed().as_millis() as u64;
        new.stop();
        drop(new);
        for t in tasks {
            t.await.unwrap();
        }
        watch.await.unwrap();
        let ejected = ejected_at.load(Ordering::SeqCst);
        let samples = std::mem::take(&mut *samples.lock().unwrap());
        let bad = |from: u64, to: u64| {
            samples
                .iter()
                .filter(|(ms, s, _)| *ms >= from && *ms < to && !(200..300).contains(s))
                .count()
        };
        let (before, window, after) = (
            bad(0, killed_ms),
            bad(killed_ms, ejected),
            bad(ejected, u64::MAX),
        );
        let moved = samples.iter().filter(|(_, _, m)| *m).count();
        let secs = RUN.as_secs_f64();
        println!(
            "{engine}: {} GETs ({:.0}/s), canary killed at {killed_ms} ms, ejected at {ejected} ms; \
             non-2xx before kill {before}, kill..ejection {window}, after ejection {after}; moved to stable {moved}; legacy hits {}",
            samples.len(),
            samples.len() as f64 / secs,
            legacy.hits()
        );
        assert_ne!(ejected, u64::MAX, "{engine}: the canary was never ejected");
        assert_eq!(after, 0, "{engine}: non-2xx GETs after ejection");
        assert!(moved > 0, "{engine}: nothing moved");
        gw.shutdown().await;
    }
}
