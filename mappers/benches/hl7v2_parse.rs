//! Parsing the HL7 v2 corpus: ehrgate against the `hl7-parser` and
//! `rust-hl7` crates on the same bytes, with a `memchr` scan as the floor.
//!
//! Every parser gets the same input: each corpus message with its BOM
//! removed and segment terminators normalised to CR (the only terminator
//! the peers accept), limited to the messages every parser accepts. The
//! peers build the full field/repetition/component tree eagerly, so the
//! comparable ehrgate row is `ehrgate/parse+walk`, which parses and then
//! visits every sub-component; `ehrgate/parse` is the index alone.
//!
//! Run: `cargo bench -p ehrgate-mappers --bench hl7v2_parse -- --warm-up-time 1 --measurement-time 3`
//! (results and ratios: `mappers/benches/README.md`).

// A benchmark without its corpus has nothing to measure: failing loudly is right.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ehrgate_mappers::hl7v2::Message;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus/hl7v2")
}

/// BOM removed, terminators normalised to CR, blank lines dropped.
fn normalise(input: &[u8]) -> String {
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut out = String::with_capacity(body.len() + 1);
    for line in body.split(|&b| b == b'\r' || b == b'\n') {
        if !line.is_empty() {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\r');
        }
    }
    out
}

fn ehrgate_walk(m: &Message<'_>) -> usize {
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

fn load() -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    paths.sort();
    let mut messages = Vec::new();
    for p in paths {
        let text = normalise(&std::fs::read(&p).expect("read corpus file"));
        let ours = Message::parse(text.as_bytes()).is_ok();
        let hl7_parser = hl7_parser::parse_message(&text).is_ok();
        let rust_hl7 = rusthl7::message::Message::try_from(text.as_str()).is_ok();
        if ours && hl7_parser && rust_hl7 {
            messages.push(text);
        } else {
            eprintln!(
                "excluded {} (ehrgate ok: {ours}, hl7-parser ok: {hl7_parser}, rust-hl7 ok: {rust_hl7})",
                p.display()
            );
        }
    }
    messages
}

fn bench(c: &mut Criterion) {
    let messages = load();
    let bytes: usize = messages.iter().map(String::len).sum();
    eprintln!(
        "corpus: {} messages, {bytes} bytes, {:.1} bytes/message",
        messages.len(),
        bytes as f64 / messages.len() as f64
    );
    let mut g = c.benchmark_group("hl7v2_parse");
    g.throughput(Throughput::Bytes(bytes as u64));

    g.bench_function("memchr-floor", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &messages {
                n += memchr::memchr2_iter(b'\r', b'|', black_box(m.as_bytes())).count();
            }
            n
        });
    });
    g.bench_function("ehrgate/parse", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &messages {
                if let Ok(msg) = Message::parse(black_box(m.as_bytes())) {
                    n += msg.segment_count();
                }
            }
            n
        });
    });
    g.bench_function("ehrgate/parse+walk", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &messages {
                if let Ok(msg) = Message::parse(black_box(m.as_bytes())) {
                    n += ehrgate_walk(&msg);
                }
            }
            n
        });
    });
    g.bench_function("hl7-parser", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &messages {
                if let Ok(msg) = hl7_parser::parse_message(black_box(m)) {
                    n += msg.segments().count();
                }
            }
            n
        });
    });
    g.bench_function("rust-hl7", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &messages {
                if let Ok(msg) = rusthl7::message::Message::try_from(black_box(m.as_str())) {
                    n += msg.segments.len();
                }
            }
            n
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
