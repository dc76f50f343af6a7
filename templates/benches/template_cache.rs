//! Parse time of the largest and the median corpus OPT, against the latency
//! of a cache hit for an already parsed template (the cost the cache saves).
//!
//! Run: `cargo bench -p ehrgate-templates --bench template_cache`.
//! Results and ratios: `benches/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench setup may fail loudly

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehrgate_templates::store::{CacheConfig, CachedStore, DirSource, DuplicatePolicy};
use ehrgate_templates::webtemplate::build;
use ehrgate_templates::{parse_opt, TemplateId, TemplateStore};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus/openehr/templates")
}

/// Corpus OPT files sorted by size: (path, bytes).
fn opts_by_size() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "opt"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort_by_key(|(_, b)| b.len());
    files
}

fn parse(c: &mut Criterion) {
    let files = opts_by_size();
    let largest = files.last().unwrap();
    let median = &files[files.len() / 2];
    let mut group = c.benchmark_group("parse_opt");
    for (label, (path, bytes)) in [("largest", largest), ("median", median)] {
        let name = path.file_name().unwrap().to_string_lossy();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(
            format!("{label} ({name}, {} KB)", bytes.len() / 1024),
            |b| {
                b.iter(|| parse_opt(black_box(bytes)).unwrap());
            },
        );
    }
    group.finish();

    let meta = parse_opt(&median.1).unwrap();
    c.bench_function("web_template/median", |b| {
        b.iter(|| build(black_box(&meta)));
    });
}

fn cache_hit(c: &mut Criterion) {
    let files = opts_by_size();
    let dir = tempfile::tempdir().unwrap();
    for name in ["ips.v0.opt", "family_history.opt"] {
        std::fs::copy(corpus().join(name), dir.path().join(name)).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = Arc::new(DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap());
    let store = CachedStore::new(source, CacheConfig::default());
    let median_id = parse_opt(&files[files.len() / 2].1).unwrap().template_id;
    let largest_id = TemplateId::new("International Patient Summary");
    runtime.block_on(async {
        store.get(&median_id).await.unwrap();
        store.get(&largest_id).await.unwrap();
    });

    let mut group = c.benchmark_group("cache");
    let dyn_store: &dyn TemplateStore = &store;
    group.bench_function("hit/median_via_dyn_trait", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(dyn_store.get(black_box(&median_id)).await.unwrap());
                }
                start.elapsed()
            })
        });
    });
    for (label, id) in [("hit/median", &median_id), ("hit/largest", &largest_id)] {
        group.bench_function(label, |b| {
            // Many gets per block_on so the runtime entry is not measured.
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(store.get(black_box(id)).await.unwrap());
                    }
                    start.elapsed()
                })
            });
        });
    }

    // Peers in the same run: the bare moka lookup our hit path wraps, and
    // the tokio clock read it adds for freshness.
    let peer: moka::future::Cache<TemplateId, Arc<ehrgate_templates::TemplateMeta>> =
        moka::future::Cache::builder().max_capacity(1000).build();
    let meta = Arc::new(parse_opt(&files[files.len() / 2].1).unwrap());
    runtime.block_on(peer.insert(median_id.clone(), meta));
    group.bench_function("peer/moka_get", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(peer.get(black_box(&median_id)).await.unwrap());
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("peer/tokio_instant_now", |b| {
        b.iter(|| black_box(tokio::time::Instant::now()));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(30);
    targets = parse, cache_hit
}
criterion_main!(benches);
