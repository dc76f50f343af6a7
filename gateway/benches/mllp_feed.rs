//! MLLP feed benchmark (issue 9): 16 concurrent senders, each waiting for
//! its acknowledgement before sending the next message (as MLLP senders
//! do), measured in one run against a peer without the gateway:
//!
//! - `mllp-direct`: senders -> test MLLP receiver (the peer);
//! - `gateway-mllp`: senders -> gateway -> the same receiver (pass-through);
//! - `fhir-direct`: 16 HTTP clients POST the already translated transaction
//!   Bundles -> test FHIR server (the peer);
//! - `gateway-fhir`: senders -> gateway (v2 -> FHIR translation) -> the
//!   same FHIR server.
//!
//! Prints messages/s, p50 and p99 acknowledgement latency, and the ratios
//! gateway/peer. `cargo bench -p ehrgate --bench mllp_feed`; the message
//! count per sender is `MLLP_BENCH_MESSAGES` (default 500).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/mllp_support/mod.rs"]
mod mllp_support;

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

fn message(sender: usize, i: usize) -> Vec<u8> {
    adt(
        &format!("B{sender}-{i}"),
        &format!("PAT{sender}-{}", i % 50),
    )
}

/// Every sender on its own connection, one message in flight each.
async fn mllp_senders(name: &'static str, addr: SocketAddr, per_sender: usize) -> Run {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut lat = Vec::with_capacity(per_sender);
            for i in 0..per_sender {
                let m = message(s, i);
                let t = Instant::now();
                let ack = c.call(&m).await;
                lat.push(t.elapsed());
                assert!(ack.code == "AA", "{name}: {ack:?}");
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

async fn fhir_clients(addr: SocketAddr, per_sender: usize) -> Run {
    let translator = V2ToFhir::default();
    let bodies: Vec<Vec<Bytes>> = (0..SENDERS)
        .map(|s| {
            (0..per_sender)
                .map(|i| {
                    let raw = message(s, i);
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

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only checks that this builds and runs with a tiny load.
    let measuring = std::env::args().any(|a| a == "--bench");
    let per_sender: usize = std::env::var("MLLP_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 500 } else { 5 });
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
        // Warm-up: connections, pools, caches.
        let _ = mllp_senders("warm-up", gw_mllp.mllp_addrs()[0], 5).await;
        let _ = mllp_senders("warm-up", gw_fhir.mllp_addrs()[0], 5).await;
        recv.received.lock().unwrap().clear();

        let direct = mllp_senders("mllp-direct", recv.addr, per_sender).await;
        let via = mllp_senders("gateway-mllp", gw_mllp.mllp_addrs()[0], per_sender).await;
        let fhir_direct = fhir_clients(fhir.addr, per_sender).await;
        let via_fhir = mllp_senders("gateway-fhir", gw_fhir.mllp_addrs()[0], per_sender).await;
        println!("{SENDERS} senders x {per_sender} messages, one in flight per sender");
        print(&[&direct, &via, &fhir_direct, &via_fhir]);
        println!(
            "gateway/peer: MLLP->MLLP throughput {:.2}, p99 {:.2}; MLLP->FHIR throughput {:.2}, p99 {:.2}",
            via.rate() / direct.rate(),
            via.p99.as_secs_f64() / direct.p99.as_secs_f64(),
            via_fhir.rate() / fhir_direct.rate(),
            via_fhir.p99.as_secs_f64() / fhir_direct.p99.as_secs_f64(),
        );
        gw_mllp.shutdown().await;
        gw_fhir.shutdown().await;
    });
}
