//! What release control and telemetry cost.
//!
//! - Per request: recording metrics (`Metrics::record_request`) and
//!   formatting the JSON access-log line, each against tenant resolution +
//!   `decide` on a 10 % sticky split (the peer, measured in the same run).
//! - Per admin change: `Shared::update_overrides` (build a new table with
//!   the change and swap it in), on a config of 20 routes and 50 tenants;
//!   this is the time from an accepted change to new requests seeing it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/route.rs"]
mod route;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehrgate::config::load_str;
use ehrgate::routing::bucket::WeightBp;
use ehrgate::routing::{Overrides, RoutingTable};
use ehrgate::runtime::Shared;
use ehrgate::telemetry::access_log::AccessLog;
use ehrgate::telemetry::{access, Telemetry};
use http::{HeaderMap, Method};

fn config(routes: usize, tenants: usize) -> String {
    let mut s = String::from(
        "[[listener]]\nbind = \"127.0.0.1:0\"\n\n[[backend]]\nname = \"stable\"\nurl = \"http://127.0.0.1:1\"\nkind = \"fhir\"\n\n[[backend]]\nname = \"canary\"\nurl = \"http://127.0.0.1:2\"\nkind = \"fhir\"\n",
    );
    for t in 0..tenants {
        let _ = write!(s, "\n[[tenant]]\nid = \"t{t}\"\n");
    }
    for r in 0..routes {
        let _ = write!(
            s,
            "\n[[route]]\nid = \"r{r}\"\npath_prefix = \"/r{r}\"\nstable = \"stable\"\ncanary = \"canary\"\nweight = 10\nsticky = \"patient\"\n"
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = runtime.enter();
    let loaded = load_str(&config(20, 50), Path::new("bench.toml")).unwrap();
    let table = RoutingTable::build(&loaded, &Overrides::default(), 1).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-tenant-id", "t7".parse().unwrap());
    let telemetry = Arc::new(Telemetry::new());
    let route: Arc<str> = Arc::from("r19");
    let backend: Arc<str> = Arc::from("canary");
    let tenant: Arc<str> = Arc::from("t7");
    let log = AccessLog {
        request_id: "0123456789abcdef0123".parse().unwrap(),
        tenant: Some(tenant.clone()),
        route: Some(route.clone()),
        arm: "canary",
        rule: "route-weight",
        backend: Some(backend.clone()),
        method: Method::GET,
        status: 200,
        start: Instant::now(),
        attempts: 1,
        truncated: false,
        upstream_us: Some(420),
        failover: None,
        telemetry: telemetry.clone(),
    };

    let mut g = c.benchmark_group("per-request");
    g.throughput(Throughput::Elements(1));
    g.bench_function("tenant+route+10% split (peer)", |b| {
        b.iter(|| route::route_once(&table, &headers, black_box("/r19/Patient/p12345")));
    });
    g.bench_function("metrics record_request", |b| {
        b.iter(|| {
            telemetry.metrics.record_request(
                Some(&route),
                "canary",
                Some(&backend),
                Some(&tenant),
                black_box(200),
                Duration::from_micros(850),
            );
        });
    });
    g.bench_function("JSON access-log line", |b| {
        b.iter(|| access::json_line(&log, black_box(1234), Duration::from_micros(850)));
    });
    g.finish();

    let shared = Shared::new(loaded).unwrap();
    let mut g = c.benchmark_group("admin-change");
    let mut bp = 0u32;
    g.bench_function("update_overrides (20 routes, 50 tenants)", |b| {
        b.iter(|| {
            bp = (bp + 1) % 10_000;
            shared
                .update_overrides(|o| {
                    o.route_weights.insert("r3".into(), WeightBp::from_bp(bp));
                })
                .unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
