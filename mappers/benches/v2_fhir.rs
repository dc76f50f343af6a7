//! HL7 v2 -> FHIR throughput: parse + map + serialize one message to Bundle
//! JSON bytes, for ADT^A01 and ORU^R01 from the corpus, and (group
//! `v2_fhir_new_types`) one corpus message of each family issue 21 added. Reported per message
//! (`Throughput::Elements`) and per input byte (`Throughput::Bytes`). Rows:
//! `parse+map+serialize` is the byte path (`V2ToFhir::translate_into`);
//! `write_bundle(report_unformatted)` the same with the unmapped report
//! left as recorded (`V2ToFhir::write_bundle`, for callers that only
//! forward the Bundle);
//! `via_serde_value` is the `Translator` path (a `serde_json::Value`, then
//! `serde_json::to_writer`), the shape this crate produced before, as the
//! in-run peer; `parse_only` is the floor. Floors of the whole job, on
//! the same message: `floor/serde_json_to_writer(prebuilt_value)` (the
//! message's own Bundle as a pre-built `serde_json::Value`, serialised by
//! the standard crate), `floor/byte_writer(prebuilt_tree)` (our writer over
//! the pre-built tree: writing alone) and `floor/parse+walk` (parse and
//! visit every sub-component: reading alone). See
//! `benches/README.md` for the figures and the comparison with Microsoft's
//! FHIR-Converter.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::{Config, V2ToFhir};

/// The `ehrgate` binary runs on mimalloc; measure what it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn corpus(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/corpus/hl7v2")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn translate_to_bytes(t: &V2ToFhir, input: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let msg = Message::parse(input).unwrap_or_else(|e| panic!("{e}"));
    t.translate_into(&msg, out)
        .unwrap_or_else(|e| panic!("{e}"))
        .output
}

fn write_bundle(t: &V2ToFhir, input: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let msg = Message::parse(input).unwrap_or_else(|e| panic!("{e}"));
    t.write_bundle(&msg, out)
        .unwrap_or_else(|e| panic!("{e}"))
        .unmapped_count()
}

fn translate_via_value(t: &V2ToFhir, input: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let msg = Message::parse(input).unwrap_or_else(|e| panic!("{e}"));
    let tr = t.translate(&msg).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_writer(&mut *out, &tr.output).unwrap_or_else(|e| panic!("{e}"));
    out.len()
}

/// Visits every sub-component (the parse bench's `parse+walk`).
fn walk(m: &Message<'_>) -> usize {
    let mut n = 0;
    for seg in m.segments() {
        for (_, field) in seg.fields() {
            for rep in field.repetitions() {
                for comp in rep.components() {
                    for sub in comp.subcomponents() {
                        n += sub.raw().len();
                    }
                }
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let t = V2ToFhir::new(Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let inputs = [
        ("ADT_A01", corpus("ADT-A01-01.hl7")),
        ("ORU_R01", corpus("ORU-R01-01.hl7")),
        ("ADT_A01_small", corpus("hapi-docs-ADT_A01.hl7")),
    ];
    let mut out = Vec::with_capacity(1 << 16);
    for (name, input) in &inputs {
        // the two paths must agree before their speeds are compared
        let mut a = Vec::new();
        let mut b = Vec::new();
        translate_to_bytes(&t, input, &mut a);
        translate_via_value(&t, input, &mut b);
        assert_eq!(a, b, "{name}: byte path and Value path differ");
        let mut g = c.benchmark_group(format!("v2_fhir_msgs/{name}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("parse+map+serialize", |b| {
            b.iter(|| translate_to_bytes(&t, black_box(input), &mut out));
        });
        g.bench_function("write_bundle(report_unformatted)", |b| {
            b.iter(|| write_bundle(&t, black_box(input), &mut out));
        });
        g.bench_function("via_serde_value", |b| {
            b.iter(|| translate_via_value(&t, black_box(input), &mut out));
        });
        let msg = Message::parse(input).unwrap_or_else(|e| panic!("{e}"));
        let value = t.translate(&msg).unwrap_or_else(|e| panic!("{e}")).output;
        let built = t.build_bundle(&msg).unwrap_or_else(|e| panic!("{e}"));
        g.bench_function("floor/serde_json_to_writer(prebuilt_value)", |b| {
            b.iter(|| {
                out.clear();
                serde_json::to_writer(&mut out, black_box(&value))
                    .unwrap_or_else(|e| panic!("{e}"));
                out.len()
            });
        });
        g.bench_function("floor/byte_writer(prebuilt_tree)", |b| {
            b.iter(|| {
                out.clear();
                black_box(&built).write(&mut out);
                out.len()
            });
        });
        g.bench_function("floor/parse+walk", |b| {
            b.iter(|| walk(&Message::parse(black_box(input)).unwrap_or_else(|e| panic!("{e}"))));
        });
        g.bench_function("parse_only", |b| {
            b.iter(|| {
                Message::parse(black_box(input))
                    .map(|m| m.segments().count())
                    .unwrap_or(0)
            });
        });
        g.finish();
        let mut g = c.benchmark_group(format!("v2_fhir_bytes/{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("parse+map+serialize", |b| {
            b.iter(|| translate_to_bytes(&t, black_box(input), &mut out));
        });
        g.finish();
    }
    // The message types issue 21 added, one corpus message each: the byte
    // path only (the floors and peers above are per-implementation
    // figures, the same for every type).
    let new_types = [
        ("BAR_P01", corpus("BAR-P01-01.hl7")),
        ("DFT_P03", corpus("DFT-P03-01.hl7")),
        ("MDM_T06", corpus("MDM-T06-01.hl7")),
        ("OUL_R22", corpus("OUL-R22-01.hl7")),
        ("RDE_O11", corpus("RDE-O11-01.hl7")),
        ("RDS_O13", corpus("RDS-O13-01.hl7")),
        ("SIU_S14", corpus("SIU-S14-01.hl7")),
        ("ADT_A40", corpus("ADT-A40-01.hl7")),
    ];
    let mut g = c.benchmark_group("v2_fhir_new_types");
    g.throughput(Throughput::Elements(1));
    for (name, input) in &new_types {
        g.bench_function(*name, |b| {
            b.iter(|| translate_to_bytes(&t, black_box(input), &mut out));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
