//! FHIR R4 -> HL7 v2 throughput beside v2 -> FHIR, in one run on one core:
//! `fhir_to_v2/oru_r01` turns a FHIR Bundle (the corpus ORU^R01 taken
//! through v2 -> FHIR once, before the timing, and parsed to a
//! `serde_json::Value`) into ER7 bytes; `fhir_to_v2/oru_r01+json_parse`
//! also parses the Bundle JSON, as a caller holding bytes pays;
//! `v2_to_fhir/oru_r01` is the forward direction on the same message
//! (parse + map + write the Bundle bytes), the in-run peer. Reported per
//! message (`Throughput::Elements`): messages per second per core is the
//! figure. Results in `benches/README.md`.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ehrgate_mappers::fhir2v2::{Config as V2Config, FhirToV2, MessageType, Request};
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::{BundleType, Config, V2ToFhir};

/// The `ehrgate` binary runs on mimalloc; measure what it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn corpus(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/corpus/hl7v2")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn bench(c: &mut Criterion) {
    let v2 = corpus("ORU-R01-01.hl7");
    let forward = V2ToFhir::new(Config {
        bundle_type: BundleType::Transaction,
        default_timezone: Some("Z".into()),
        ..Config::default()
    })
    .unwrap();
    let msg = Message::parse(&v2).unwrap();
    let bundle = forward.translate(&msg).unwrap().output;
    let bundle_bytes = serde_json::to_vec(&bundle).unwrap();
    let back = FhirToV2::new(V2Config {
        fixed_time: Some("20240101000000+0000".into()),
        ..V2Config::default()
    })
    .unwrap();
    let req = Request {
        fhir: &bundle,
        message: Some(MessageType::OruR01),
    };
    let sample = back.translate(req).unwrap().output;
    eprintln!(
        "ORU^R01: {} v2 bytes -> Bundle {} bytes ({} entries) -> {} v2 bytes",
        v2.len(),
        bundle_bytes.len(),
        bundle["entry"].as_array().map_or(0, Vec::len),
        sample.len()
    );

    let mut g = c.benchmark_group("fhir_v2");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(1 << 16);
    g.bench_function("fhir_to_v2/oru_r01", |b| {
        b.iter(|| {
            out.clear();
            let t = back.translate_into(black_box(req), &mut out).unwrap();
            black_box((t.unmapped.len(), out.len()))
        });
    });
    g.bench_function("fhir_to_v2/oru_r01+json_parse", |b| {
        b.iter(|| {
            out.clear();
            let v: serde_json::Value = serde_json::from_slice(black_box(&bundle_bytes)).unwrap();
            let t = back
                .translate_into(
                    Request {
                        fhir: &v,
                        message: Some(MessageType::OruR01),
                    },
                    &mut out,
                )
                .unwrap();
            black_box((t.unmapped.len(), out.len()))
        });
    });
    g.bench_function("v2_to_fhir/oru_r01", |b| {
        b.iter(|| {
            out.clear();
            let m = Message::parse(black_box(&v2)).unwrap();
            black_box(forward.translate_into(&m, &mut out).unwrap().output)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
