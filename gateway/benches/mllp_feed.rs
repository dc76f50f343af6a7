//! MLLP feed benchmark (issue 9): 16 concurrent senders, each waiting for
//! its acknowledgement before sending the next message (as MLLP senders
//! do), measured in one run against a peer without the gateway:
//!
//! - `mllp-direct`: senders -> test MLLP receiver (the floor: no hop);
//! - `nginx-stream`: senders -> nginx `stream` proxy -> the same receiver
//!   (the peer: a TCP proxy doing the same hop; the row is skipped with the
//!   reason when nginx or its stream module is missing);
//! - `gateway-mllp`: senders -> gateway -> the same receiver (pass-through);
//! - `fhir-direct`: 16 HTTP clients POST the already translated transaction
//!   Bundles -> test FHIR server (the peer);
//! - `gateway-fhir`: senders -> gateway (v2 -> FHIR translation) -> the
//!   same FHIR server;
//! - `gateway-queue`: enhanced-mode messages (MSH-15 AL, MSH-16 NE) into a
//!   gateway with the durable queue: the `CA` comes after the fsync (group
//!   commit), delivery to the receiver follows from the queue.
//!
//! Rounds alternate the order (peer first, then gateway; then the other way
//! round) so drift on a shared machine does not favour one side. Prints
//! messages/s, p50 and p99 acknowledgement latency per round, the ratios
//! gateway/peer per round and their medians. `cargo bench -p ehrgate
//! --bench mllp_feed`; `MLLP_BENCH_MESSAGES` per sender (default 500),
//! `MLLP_BENCH_ROUNDS` (default 3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/mllp_support/mod.rs"]
mod mllp_support;
#[path = "common/nginx_peer.rs"]
mod nginx_peer;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::V2ToFhir;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use mllp_support::*;

/// The allocator the `ehrgate` binary ships with (`gateway/src/main.rs`),
/// so the in-process gateway allocates as it does in production (the
/// in-process peers get it too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SENDERS: usize = 16;

#[derive(Debug)]
struct Run {
    name: &'static str,
    messages: usize,
    wall: Duration,
    p50: Duration,
    p99: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64()
    }
}

fn summarise(name: &'static str, wall: Duration, mut lat: Vec<Duration>) -> Run {
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Run {
        name,
        messages: lat.len(),
        wall,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn message(round: usize, sender: usize, i: usize) -> Vec<u8> {
    adt(
        &format!("B{round}-{sender}-{i}"),
        &format!("PAT{sender}-{}", i % 50),
    )
}

/// The same message in enhanced mode: one `CA`, no application ack.
fn enhanced(round: usize, sender: usize, i: usize) -> Vec<u8> {
    String::from_utf8(message(round, sender, i))
        .unwrap()
        .replace("|P|2.5.1\r", "|P|2.5.1|||AL|NE\r")
        .into_bytes()
}

/// Every sender on its own connection, one message in flight each.
async fn mllp_senders(
    name: &'static str,
    addr: SocketAddr,
    round: usize,
    per_sender: usize,
    queued: bool,
) -> Run {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut lat = Vec::with_capacity(per_sender);
            for i in 0..per_sender {
                let m = if queued {
                    enhanced(round, s, i)
                } else {
                    message(round, s, i)
                };
                let t = Instant::now();
                let ack = c.call(&m).await;
                lat.push(t.elapsed());
                let want = if queued { "CA" } else { "AA" };
                assert!(ack.code == want, "{name}: {ack:?}");
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    summarise(name, start.elapsed(), lat)
}

async fn fhir_clients(addr: SocketAddr, round: usize, per_sender: usize) -> Run {
    let translator = V2ToFhir::default();
    let bodies: Vec<Vec<Bytes>> = (0..SENDERS)
        .map(|s| {
            (0..per_sender)
                .map(|i| {
                    let raw = message(round, s, i);
                    let m = Message::parse(&raw).unwrap();
                    Bytes::from(
                        serde_json::to_vec(&translator.translate(&m).unwrap().output).unwrap(),
                    )
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for bodies in bodies {
        tasks.push(tokio::spawn(async move {
            let client: HttpClient<_, Full<Bytes>> =
                HttpClient::builder(TokioExecutor::new()).build_http();
            let mut lat = Vec::with_capacity(bodies.len());
            for body in bodies {
                let req = http::Request::post(format!("http://{addr}/fhir"))
                    .header("content-type", "application/fhir+json")
                    .header("x-tenant-id", "acme")
                    .body(Full::new(body))
                    .unwrap();
                let t = Instant::now();
                let resp = client.request(req).await.unwrap();
                assert!(resp.status().is_success());
                let _ = resp.into_body().collect().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    summarise("fhir-direct", start.elapsed(), lat)
}

fn print(runs: &[&Run]) {
    println!(
        "{:<14} {:>9} {:>12} {:>10} {:>10}",
        "target", "messages", "messages/s", "p50 ms", "p99 ms"
    );
    for r in runs {
        println!(
            "{:<14} {:>9} {:>12.0} {:>10.2} {:>10.2}",
            r.name,
            r.messages,
            r.rate(),
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only checks that this builds and runs with a tiny load.
    let measuring = std::env::args().any(|a| a == "--bench");
    let per_sender: usize = std::env::var("MLLP_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 500 } else { 5 });
    let rounds: usize = std::env::var("MLLP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 3 } else { 1 })
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
        let fhir = TestFhir::start().await;
        let text = config(&format!(
            "{}[[mllp_route]]\nid = \"adt\"\nstable = \"legacy\"\n",
            mllp_backend("legacy", recv.addr, 5000),
        ));
        // One gateway per scenario, each with one route.
        let gw_mllp = gateway(&text).await;
        let text_fhir = config(&format!(
            "{}[[mllp_route]]\nid = \"all\"\nstable = \"fhir\"\n",
            fhir_backend("fhir", fhir.addr),
        ));
        let gw_fhir = gateway(&text_fhir).await;
        let queue_dir = tempfile::tempdir().unwrap();
        let text_queue = format!(
            "{text}\n[mllp.queue]\ndir = \"{}\"\n",
            queue_dir.path().display()
        );
        let gw_queue = gateway(&text_queue).await;
        // Warm-up: connections, pools, caches.
        let _ = mllp_senders("warm-up", gw_mllp.mllp_addrs()[0], 99, 5, false).await;
        let _ = mllp_senders("warm-up", gw_fhir.mllp_addrs()[0], 99, 5, false).await;
        let _ = mllp_senders("warm-up", gw_queue.mllp_addrs()[0], 99, 5, true).await;
        let (m, f, q) = (
            gw_mllp.mllp_addrs()[0],
            gw_fhir.mllp_addrs()[0],
            gw_queue.mllp_addrs()[0],
        );
        let nginx = match nginx_peer::NginxPeer::start(recv.addr, 2) {
            Ok(n) => {
                let _ = mllp_senders("warm-up", n.addr, 99, 5, false).await;
                Some(n)
            }
            Err(why) => {
                println!("nginx-stream row skipped: {why}");
                None
            }
        };
        println!("{SENDERS} senders x {per_sender} messages, one in flight per sender, {rounds} rounds");
        let mut ratios: [Vec<f64>; 10] = Default::default();
        for round in 0..rounds {
            let peer_first = round % 2 == 0;
            // Peers (direct, nginx) then the gateway, or the other way round.
            let mut via = None;
            if !peer_first {
                via = Some(mllp_senders("gateway-mllp", m, round, per_sender, false).await);
            }
            let direct = mllp_senders("mllp-direct", recv.addr, round, per_sender, false).await;
            let proxied = match &nginx {
                Some(n) => Some(mllp_senders("nginx-stream", n.addr, round, per_sender, false).await),
                None => None,
            };
            if peer_first {
                via = Some(mllp_senders("gateway-mllp", m, round, per_sender, false).await);
            }
            let via = via.unwrap();
            let (fhir_direct, via_fhir) = if peer_first {
                let d = fhir_clients(fhir.addr, round, per_sender).await;
                (d, mllp_senders("gateway-fhir", f, round, per_sender, false).await)
            } else {
                let v = mllp_senders("gateway-fhir", f, round, per_sender, false).await;
                (fhir_clients(fhir.addr, round, per_sender).await, v)
            };
            let before = gw_queue.mllp_queue_batches().unwrap_or_default();
            let via_queue = mllp_senders("gateway-queue", q, round, per_sender, true).await;
            let batches = gw_queue.mllp_queue_batches().unwrap_or_default().since(&before);
            println!("round {} ({} first)", round + 1, if peer_first { "peer" } else { "gateway" });
            let mut rows = vec![&direct];
            rows.extend(proxied.as_ref());
            rows.extend([&via, &fhir_direct, &via_fhir, &via_queue]);
            print(&rows);
            println!(
                "queue group commit (this round): {batches}; undelivered at the round's end: {}",
                gw_queue.mllp_queue_pending().unwrap_or_default()
            );
            let (nr, np) = match &proxied {
                Some(p) => (
                    via.rate() / p.rate(),
                    via.p99.as_secs_f64() / p.p99.as_secs_f64(),
                ),
                None => (f64::NAN, f64::NAN),
            };
            let r = [
                nr,
                np,
                via.rate() / direct.rate(),
                via.p99.as_secs_f64() / direct.p99.as_secs_f64(),
                via_fhir.rate() / fhir_direct.rate(),
                via_fhir.p99.as_secs_f64() / fhir_direct.p99.as_secs_f64(),
                via_queue.rate() / direct.rate(),
                via_queue.p99.as_secs_f64() / direct.p99.as_secs_f64(),
                batches.mean(),
                batches.fsyncs as f64,
            ];
            println!(
                "gateway/nginx MLLP->MLLP throughput {:.2}, p99 {:.2}; gateway/direct MLLP->MLLP throughput {:.2}, p99 {:.2}; MLLP->FHIR throughput {:.2}, p99 {:.2}; queued CA vs direct AA throughput {:.2}, p99 {:.2}",
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
            );
            for (acc, v) in ratios.iter_mut().zip(r) {
                acc.push(v);
            }
        }
        let [a, b, c, d, e, g, h, i, j, k] = ratios.map(median);
        println!(
            "median over rounds: gateway/nginx MLLP->MLLP throughput {a:.2}, p99 {b:.2}; gateway/direct MLLP->MLLP throughput {c:.2}, p99 {d:.2}; MLLP->FHIR throughput {e:.2}, p99 {g:.2}; queued CA throughput {h:.2}, p99 {i:.2} (records per fsync {j:.1}, fsyncs per round {k:.0})"
        );
        drop(nginx);
        gw_queue.shutdown().await;
        gw_mllp.shutdown().await;
        gw_fhir.shutdown().await;
    });
}
