//! Translates one FHIR Observation to a canonical composition and back N
//! times each and prints the CPU time per translation (process CPU time, so
//! a loaded machine does not inflate it); for `perf record` and for
//! checking the criterion figures on a shared machine:
//! `cargo run --release -p ehrgate-mappers --example fhir_openehr_loop -- [N]`.

// Example code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::shipped::find;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir};
use ehrgate_mappers::translation::Translator;

fn cpu_seconds() -> f64 {
    // utime + stime from /proc/self/stat (clock ticks, 100 Hz)
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// The `ehrgate` binary runs on mimalloc; measure what it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let engine = find("EHRN Vital signs.v2").unwrap().engine().unwrap();
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: CanonicalDefaults {
            language: "en".into(),
            territory: "DE".into(),
            composer: "ehrgate".into(),
            time: "2024-01-01T00:00:00Z".into(),
        },
    };
    let to_fhir = OpenEhrToFhir::new(&engine);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/corpus/fhir/examples/Observation-blood-pressure.json"
    );
    let obs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let comp = to_openehr.translate(&obs).unwrap().output;
    // `fwd` or `back` as second argument runs one direction only (for
    // perf); `phases` times each step of both directions on its own.
    let only = std::env::args().nth(2).unwrap_or_default();
    let (n_fwd, n_back) = match only.as_str() {
        "fwd" => (n, 0),
        "back" => (0, n),
        _ => (n, n),
    };
    if only == "phases" {
        phases(&engine, &to_openehr.defaults, &obs, &comp, n);
        return;
    }
    let t0 = cpu_seconds();
    for _ in 0..n_fwd {
        std::hint::black_box(to_openehr.translate(std::hint::black_box(&obs)).unwrap());
    }
    let t1 = cpu_seconds();
    for _ in 0..n_back {
        std::hint::black_box(to_fhir.translate(std::hint::black_box(&comp)).unwrap());
    }
    let t2 = cpu_seconds();
    println!(
        "fhir -> canonical: {:.1} us/resource ({:.0}/s per core)",
        (t1 - t0) * 1e6 / n_fwd.max(1) as f64,
        n_fwd as f64 / (t1 - t0).max(1e-9)
    );
    println!(
        "canonical -> fhir: {:.1} us/resource ({:.0}/s per core)",
        (t2 - t1) * 1e6 / n_back.max(1) as f64,
        n_back as f64 / (t2 - t1).max(1e-9)
    );
    // The peer in the same process: a serde_json parse + serialise of the
    // same Observation text, so the figures above read as ratios.
    let text = std::fs::read_to_string(path).unwrap();
    let peer = per_call(n, || {
        let v: serde_json::Value = serde_json::from_str(std::hint::black_box(&text)).unwrap();
        std::hint::black_box(serde_json::to_string(&v).unwrap());
    });
    println!("peer (serde_json parse+serialise): {peer:.1} us");
}

/// CPU time per call of `f`, in microseconds.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let t0 = cpu_seconds();
    for _ in 0..n {
        f();
    }
    (cpu_seconds() - t0) * 1e6 / n.max(1) as f64
}

/// Each step of both directions timed on its own: where a translation's
/// time goes, without a profiler.
fn phases(
    engine: &ehrgate_mappers::fhirconnect::engine::Engine,
    defaults: &CanonicalDefaults,
    obs: &serde_json::Value,
    comp: &serde_json::Value,
    n: usize,
) {
    use ehrgate_mappers::fhirconnect::canonical::{from_canonical_with, to_canonical};
    use ehrgate_mappers::fhirconnect::check::check;
    use std::hint::black_box;
    let index = engine.index().unwrap();
    let inst = engine.fhir_to_instance(obs).unwrap().output;
    let (back, _) = from_canonical_with(comp, engine.names());
    let rows = [
        (
            "fhir_to_instance",
            per_call(n, || {
                black_box(engine.fhir_to_instance(black_box(obs)).unwrap());
            }),
        ),
        (
            "check",
            per_call(n, || {
                black_box(check(black_box(&inst), index));
            }),
        ),
        (
            "to_canonical",
            per_call(n, || {
                black_box(to_canonical(black_box(&inst), index, defaults));
            }),
        ),
        (
            "from_canonical",
            per_call(n, || {
                black_box(from_canonical_with(black_box(comp), engine.names()));
            }),
        ),
        (
            "instance_to_fhir",
            per_call(n, || {
                black_box(engine.instance_to_fhir(black_box(&back)).unwrap());
            }),
        ),
    ];
    for (name, us) in rows {
        println!("{name:>18}: {us:.1} us");
    }
}
