//! The routing core's cost per request: tenant resolution plus `decide` on a
//! route with a 10 % sticky canary split, against the same on a route
//! without a split (the peer, measured in the same run). The proxy's whole
//! per-request CPU is tens of microseconds (bench/README.md), so this shows
//! what share of it routing and the split take.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehrgate::config::load_str;
use ehrgate::routing::decision::{decide, StickySource};
use ehrgate::routing::flags::FlagContext;
use ehrgate::routing::route_match::MatchInput;
use ehrgate::routing::tenant::TenantInput;
use ehrgate::routing::{Overrides, RoutingTable};
use http::{HeaderMap, Method};

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

fn route_once(table: &RoutingTable, headers: &HeaderMap, path: &str) -> u16 {
    let resolved = table
        .tenants()
        .resolve(&TenantInput {
            headers,
            host: None,
            path,
            jwt_tenant: None,
        })
        .unwrap();
    let input = MatchInput {
        method: &Method::GET,
        path,
        headers,
        tenant: resolved.tenant.idx,
        flags: FlagContext {
            tenant: &resolved.tenant.id,
            user: None,
            roles: &[],
            headers,
        },
    };
    let sticky = StickySource {
        request_id: "0123456789abcdef0123",
        user: None,
        query: None,
    };
    decide(table, &input, &sticky).unwrap().backend
}

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
        b.iter(|| route_once(&table, &headers, black_box("/plain/Patient/p12345")));
    });
    g.bench_function("tenant+route+10% sticky split", |b| {
        b.iter(|| route_once(&table, &headers, black_box("/fhir/Patient/p12345")));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
