//! Translates one message N times and prints the CPU time per message
//! (process CPU time, so a loaded machine does not inflate it). Used to
//! check the criterion figures on a shared machine:
//! `cargo run --release -p ehrgate-mappers --example v2fhir_loop -- FILE N [value]`
//! (`value`: the `serde_json::Value` output path instead of the byte path;
//! `lazy`: the byte path through `write_bundle`, report not formatted).

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
    let input = std::fs::read(&args[1]).unwrap();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    // `value` measures the old path (serde_json::Value, then to_writer);
    // `lazy` the byte path with the report left unformatted (write_bundle)
    let value_path = args.get(3).is_some_and(|s| s == "value");
    let lazy = args.get(3).is_some_and(|s| s == "lazy");
    let t = V2ToFhir::new(Config::default()).unwrap();
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
