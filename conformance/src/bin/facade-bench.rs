//! Create and read through the FHIR facade against the reference openEHR
//! backend: requests/s, p50/p99 latency, and the share of request time
//! spent translating. The peer, measured in the same run on the same
//! gateway: the same calls passed through to the reference FHIR backend
//! (the canary arm), so the ratio is what the facade costs over a proxy.
//!
//! `cargo run --release -p ehrgate-conformance --bin facade-bench` (a
//! script-style benchmark: a few thousand requests per phase, 8 concurrent
//! clients, all on 127.0.0.1; a binary rather than a `cargo bench` target
//! so it builds with the demo's release profile and without the test-only
//! dependencies). Results are recorded in `conformance/benches/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ehrgate_conformance::reference::fhir::FhirConfig;
use ehrgate_conformance::stack::{Stack, StackOptions, TENANT};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const CLIENTS: usize = 8;
const PER_PHASE: usize = 2000;

type Http = Client<HttpConnector, Full<Bytes>>;

fn observation(i: usize) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/bench-{}", i % 50)},
        "effectiveDateTime": format!("2024-01-{:02}T10:00:00Z", 1 + i % 28),
        "valueQuantity": {"value": 60 + (i % 40), "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

async fn call(http: &Http, method: &str, url: &str, body: Bytes) -> (u16, Bytes) {
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("x-tenant-id", TENANT)
        .header("content-type", "application/fhir+json")
        .body(Full::new(body))
        .unwrap();
    let resp = http.request(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

struct Phase {
    name: &'static str,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
    fn pct(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        l[((l.len() as f64 * p) as usize).min(l.len() - 1)]
    }
    fn total(&self) -> Duration {
        self.latencies.iter().sum()
    }
}

/// Runs `PER_PHASE` requests from `CLIENTS` tasks; `make(i)` gives method,
/// url and body of request `i`; `expect` the status.
async fn phase(
    name: &'static str,
    http: &Http,
    make: Arc<dyn Fn(usize) -> (&'static str, String, Bytes) + Send + Sync>,
    expect: u16,
    ids: Option<Arc<std::sync::Mutex<Vec<String>>>>,
) -> Phase {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let http = http.clone();
        let make = make.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c;
            while i < PER_PHASE {
                let (m, url, body) = make(i);
                let t = Instant::now();
                let (status, body) = call(&http, m, &url, body).await;
                lat.push(t.elapsed());
                assert_eq!(status, expect, "{name}: {}", String::from_utf8_lossy(&body));
                if let Some(ids) = &ids {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    ids.lock()
                        .unwrap()
                        .push(v["id"].as_str().unwrap().to_owned());
                }
                i += CLIENTS;
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Phase {
        name,
        wall: start.elapsed(),
        latencies,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let opts = StackOptions {
        // Schema validation on the FHIR server would dominate the peer's
        // time; the comparison is facade vs pass-through, not validators.
        fhir: FhirConfig {
            validate: false,
            ..FhirConfig::default()
        },
        ..StackOptions::default()
    };
    let stack = Stack::start(opts.clone()).await.unwrap();
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let gw = format!("http://{}", stack.addr);
    let facade = stack
        .gateway
        .shared()
        .load()
        .service::<Arc<ehrgate::facade::Facade>>("legacy-openehr")
        .cloned()
        .unwrap();

    // warm-up (templates fetched, engines compiled, pools open)
    for i in 0..50 {
        call(
            &http,
            "POST",
            &format!("{gw}/fhir/Observation"),
            Bytes::from(observation(i).to_string()),
        )
        .await;
    }
    let mut results = Vec::new();
    for (arm, weight) in [("facade (openEHR)", 0.0), ("pass-through (FHIR)", 100.0)] {
        stack.set_canary_weight(&opts, weight).unwrap();
        let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = gw.clone();
        let before = facade.stats();
        let create = phase(
            if weight == 0.0 {
                "facade create"
            } else {
                "pass-through create"
            },
            &http,
            Arc::new(move |i| {
                (
                    "POST",
                    format!("{g}/fhir/Observation"),
                    Bytes::from(observation(i).to_string()),
                )
            }),
            201,
            Some(ids.clone()),
        )
        .await;
        let mid = facade.stats();
        let list = Arc::new(ids.lock().unwrap().clone());
        let g = gw.clone();
        let read = phase(
            if weight == 0.0 {
                "facade read"
            } else {
                "pass-through read"
            },
            &http,
            Arc::new(move |i| {
                (
                    "GET",
                    format!("{g}/fhir/Observation/{}", list[i % list.len()]),
                    Bytes::new(),
                )
            }),
            200,
            None,
        )
        .await;
        let after = facade.stats();
        results.push((
            arm,
            create,
            mid.translate - before.translate,
            read,
            after.translate - mid.translate,
        ));
    }
    println!("\n{CLIENTS} clients, {PER_PHASE} requests per phase, gateway + both reference backends on 127.0.0.1 (2 worker threads each runtime)\n");
    println!("| phase | requests/s | p50 | p99 | translating (share of request time) |");
    println!("|---|---|---|---|---|");
    for (_, c, ct, r, rt) in &results {
        for (p, t) in [(c, ct), (r, rt)] {
            println!(
                "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} % |",
                p.name,
                p.rps(),
                p.pct(0.5).as_secs_f64() * 1e3,
                p.pct(0.99).as_secs_f64() * 1e3,
                100.0 * t.as_secs_f64() / p.total().as_secs_f64()
            );
        }
    }
    let (f, p) = (&results[0], &results[1]);
    println!(
        "\nratios facade / pass-through: create {:.2}x requests/s, p99 {:.2}x; read {:.2}x requests/s, p99 {:.2}x",
        f.1.rps() / p.1.rps(),
        f.1.pct(0.99).as_secs_f64() / p.1.pct(0.99).as_secs_f64(),
        f.3.rps() / p.3.rps(),
        f.3.pct(0.99).as_secs_f64() / p.3.pct(0.99).as_secs_f64(),
    );
    stack.shutdown().await;
}
