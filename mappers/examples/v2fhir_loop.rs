//! Translates one message N times and prints the CPU time per message
//! (process CPU time, so a loaded machine does not inflate it). Used to
//! check the criterion figures on a shared machine:
//! `cargo run --release -p ehrgate-mappers --example v2fhir_loop -- FILE N [value]`
//! (`value`: the `serde_json::Value` output path instead of the byte path;
//! `lazy`: the byte path through `write_bundle`, report not formatted).
//! Floors, each timing one part alone on the same message:
//! `floor-serde`: `serde_json::to_writer` of the message's own Bundle as a
//! pre-built `serde_json::Value` (what serialising it costs with the
//! standard crate); `floor-write`: our byte writer over a pre-built tree
//! (JSON writing alone); `floor-walk`: parse the message and visit every
//! field, repetition, component and sub-component.
//! `v2fhir_loop DIR 0 dump OUT`: writes, for every `.hl7` file in DIR and
//! every message of a batch file in it, the Bundle bytes, the report and
//! the warnings to OUT (one file each), to diff two builds' outputs.

// Example code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::Translator;
use ehrgate_mappers::v2fhir::{Config, V2ToFhir};

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
    let args: Vec<String> = std::env::args().collect();
    if args.get(3).is_some_and(|s| s == "dump") {
        dump(&args[1], &args[4]);
        return;
    }
    let input = std::fs::read(&args[1]).unwrap();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    // `value` measures the old path (serde_json::Value, then to_writer);
    // `lazy` the byte path with the report left unformatted (write_bundle)
    let value_path = args.get(3).is_some_and(|s| s == "value");
    let lazy = args.get(3).is_some_and(|s| s == "lazy");
    let t = V2ToFhir::new(Config::default()).unwrap();
    let mode = args.get(3).map_or("", String::as_str);
    if mode.starts_with("floor-") {
        floor(&t, &input, n, mode);
        return;
    }
    let mut out = Vec::new();
    let mut report = (0, 0);
    let start = cpu_seconds();
    let wall = std::time::Instant::now();
    for _ in 0..n {
        out.clear();
        let msg = Message::parse(&input).unwrap();
        if value_path {
            let tr = t.translate(&msg).unwrap();
            serde_json::to_writer(&mut out, &tr.output).unwrap();
        } else if lazy {
            let r = t.write_bundle(&msg, &mut out).unwrap();
            report = (r.unmapped_count(), r.warnings().len());
        } else {
            let tr = t.translate_into(&msg, &mut out).unwrap();
            report = (tr.unmapped.len(), tr.warnings.len());
        }
    }
    let cpu = cpu_seconds() - start;
    println!(
        "{n} messages, {} bytes in, {} bytes out, {} unmapped, {} warnings: cpu {:.1} us/msg ({:.0} msg/s, {:.2} MB/s in); wall {:.1} us/msg",
        input.len(),
        out.len(),
        report.0,
        report.1,
        cpu * 1e6 / n as f64,
        n as f64 / cpu,
        n as f64 * input.len() as f64 / cpu / 1e6,
        wall.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

/// Times one floor (see the module doc) and prints it like the main loop.
fn floor(t: &V2ToFhir, input: &[u8], n: usize, mode: &str) {
    let msg = Message::parse(input).unwrap();
    let value = t.translate(&msg).unwrap().output;
    let built = t.build_bundle(&msg).unwrap();
    let mut out = Vec::with_capacity(1 << 17);
    let mut sink = 0usize;
    let start = cpu_seconds();
    for _ in 0..n {
        out.clear();
        match mode {
            "floor-serde" => serde_json::to_writer(&mut out, std::hint::black_box(&value)).unwrap(),
            "floor-write" => std::hint::black_box(&built).write(&mut out),
            "floor-walk" => sink += walk(&Message::parse(std::hint::black_box(input)).unwrap()),
            _ => panic!("unknown mode {mode}"),
        }
    }
    let cpu = cpu_seconds() - start;
    println!(
        "{mode}: {n} iterations, {} bytes in, {} bytes out ({sink}): cpu {:.2} us/msg ({:.0} msg/s, {:.1} MB/s out)",
        input.len(),
        out.len(),
        cpu * 1e6 / n as f64,
        n as f64 / cpu,
        n as f64 * out.len() as f64 / cpu / 1e6,
    );
}

/// Visits every sub-component (the `parse+walk` row of the parse bench).
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

/// Translates every corpus message in `dir` (and `dir/batch/*`) and writes
/// each output to `out` for a byte-for-byte diff between builds.
fn dump(dir: &str, out: &str) {
    use ehrgate_mappers::hl7v2::batch;
    let t = V2ToFhir::new(Config::default()).unwrap();
    std::fs::create_dir_all(out).unwrap();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    if let Ok(rd) = std::fs::read_dir(std::path::Path::new(dir).join("batch")) {
        paths.extend(rd.flatten().map(|e| e.path()));
    }
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).unwrap_or_default();
        if p.extension().is_some_and(|e| e == "hl7") {
            inputs.push((name, bytes));
        } else if p.parent().is_some_and(|d| d.ends_with("batch")) {
            for item in batch::split_lenient(&bytes).flatten() {
                inputs.push((format!("{name}#{}", item.index), item.bytes.to_vec()));
            }
        }
    }
    for (name, bytes) in &inputs {
        let text = match Message::parse(bytes) {
            Err(e) => format!("parse error: {e}"),
            Ok(msg) => match t.translate_to_vec(&msg) {
                Err(e) => format!("error: {e}"),
                Ok(tr) => format!(
                    "{}\n{:?}\n{:?}\n",
                    String::from_utf8_lossy(&tr.output),
                    tr.unmapped,
                    tr.warnings
                ),
            },
        };
        std::fs::write(std::path::Path::new(out).join(format!("{name}.out")), text).unwrap();
    }
    println!("{} messages dumped to {out}", inputs.len());
}
