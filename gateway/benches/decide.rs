//! The routing core's cost per request: tenant resolution plus `decide` on a
//! route with a 10 % sticky canary split, against the same on a route
//! without a split (the peer, measured in the same run). The proxy's whole
//! per-request CPU is tens of microseconds (bench/README.md), so this shows
//! what share of it routing and the split take.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/route.rs"]
mod route;

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehrgate::config::load_str;
use ehrgate::routing::{Overrides, RoutingTable};
use http::HeaderMap;

const CONFIG: &str = r#"
[[listener]]
bind = "127.0.0.1:0"

[[backend]]
name = "stable"
url = "http://127.0.0.1:1"
kind = "fhir"

[[backend]]
name = "canary"
url = "http://127.0.0.1:2"
kind = "fhir"

[[tenant]]
id = "acme"

[[tenant]]
id = "globex"

[[route]]
id = "plain"
path_prefix = "/plain"
stable = "stable"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "stable"
canary = "canary"
weight = 10
sticky = "patient"
"#;

fn bench(c: &mut Criterion) {
    let loaded = load_str(CONFIG, Path::new("bench.toml")).unwrap();
    let table = RoutingTable::build(&loaded, &Overrides::default(), 1).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-tenant-id", "acme".parse().unwrap());
    headers.insert("accept", "application/fhir+json".parse().unwrap());
    headers.insert("user-agent", "bench".parse().unwrap());
    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(1));
    g.bench_function("tenant+route, no split (peer)", |b| {
        b.iter(|| route::route_once(&table, &headers, black_box("/plain/Patient/p12345")));
    });
    g.bench_function("tenant+route+10% sticky split", |b| {
        b.iter(|| route::route_once(&table, &headers, black_box("/fhir/Patient/p12345")));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
