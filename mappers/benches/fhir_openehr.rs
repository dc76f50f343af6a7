//! FHIR Observation -> canonical composition and back, with the mapping set
//! compiled and the template metadata indexed once (as the gateway caches
//! them). Throughput in resources/s; the peer measured in the same run is a
//! serde_json parse + serialise of the same resource, so the report is a
//! ratio ("translation costs N JSON round trips"), not an absolute time.
//!
//! Run: `cargo bench -p ehrgate-mappers --bench fhir_openehr`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::shipped::find;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir};
use ehrgate_mappers::translation::Translator;

/// The `ehrgate` binary runs on mimalloc: measure what it runs (the peer
/// gets the same allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../conformance/corpus/{rel}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let engine = find("EHRN Vital signs.v2").unwrap().engine().unwrap();
    let defaults = CanonicalDefaults {
        language: "en".into(),
        territory: "DE".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    };
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults,
    };
    let to_fhir = OpenEhrToFhir::new(&engine);
    let text = read("fhir/examples/Observation-blood-pressure.json");
    let obs: serde_json::Value = serde_json::from_str(&text).unwrap();
    let comp = to_openehr.translate(&obs).unwrap().output;
    let comp_text = serde_json::to_string(&comp).unwrap();

    let mut g = c.benchmark_group("fhir_openehr");
    g.throughput(Throughput::Elements(1));
    g.bench_function("peer: serde_json parse+serialise Observation", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(&text)).unwrap();
            black_box(serde_json::to_string(&v).unwrap())
        });
    });
    g.bench_function("fhir -> canonical (parsed input)", |b| {
        b.iter(|| black_box(to_openehr.translate(black_box(&obs)).unwrap()));
    });
    g.bench_function("canonical -> fhir (parsed input)", |b| {
        b.iter(|| black_box(to_fhir.translate(black_box(&comp)).unwrap()));
    });
    g.bench_function("fhir text -> canonical text", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(&text)).unwrap();
            black_box(serde_json::to_string(&to_openehr.translate(&v).unwrap().output).unwrap())
        });
    });
    g.bench_function("canonical text -> fhir text", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(&comp_text)).unwrap();
            black_box(serde_json::to_string(&to_fhir.translate(&v).unwrap().output).unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
