//! `translate --from hl7v2 --to fhir`: every message of the input becomes a
//! FHIR Bundle. One message: the Bundle (pretty JSON) on stdout. Several
//! messages (a batch, several MSH, a directory): one Bundle per line
//! (NDJSON), in input order.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use ehrgate_mappers::hl7v2::{batch, Message};
use ehrgate_mappers::translation::{Translation, Translator, Unmapped, Warning};
use ehrgate_mappers::v2fhir::{BundleType, Config, V2FhirError, V2ToFhir, ZMap};
use serde::Serialize;

use super::input;
use super::{BundleTypeArg, TranslateArgs};
use crate::cli::exit;

/// Messages above which a progress bar is drawn (on a terminal only).
const PROGRESS_THRESHOLD: usize = 50;

/// The report of one message (`--report`): locations and reasons only,
/// never values.
#[derive(Debug, Serialize)]
struct MessageReport<'a> {
    index: usize,
    source: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    unmapped: Vec<Unmapped>,
    warnings: Vec<Warning>,
}

fn config(args: &TranslateArgs) -> anyhow::Result<Result<Config, String>> {
    let mut cfg = Config {
        bundle_type: match args.bundle_type {
            BundleTypeArg::Transaction => BundleType::Transaction,
            BundleTypeArg::Message => BundleType::Message,
            BundleTypeArg::Collection => BundleType::Collection,
        },
        default_timezone: args.timezone.clone(),
        ..Config::default()
    };
    if let Some(path) = &args.zmap {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("cannot read {}: {e}", path.display()))),
        };
        match ZMap::from_json(&text) {
            Ok(z) => cfg.zmap = z,
            Err(e) => return Ok(Err(e.to_string())),
        }
    }
    Ok(Ok(cfg))
}

/// Translates one message: for NDJSON the compact Bundle goes to `line`
/// (the fast path) and the output is `None`; for a single message the
/// `Value` is returned, to be pretty-printed.
fn translate_one(
    translator: &V2ToFhir,
    msg: &Message<'_>,
    ndjson: bool,
    line: &mut Vec<u8>,
) -> Result<Translation<Option<serde_json::Value>>, V2FhirError> {
    line.clear();
    if ndjson {
        Ok(translator.translate_into(msg, line)?.map(|_| None))
    } else {
        Ok(translator.translate(msg)?.map(Some))
    }
}

/// Runs the direction; returns the exit code.
pub fn run(args: &TranslateArgs) -> anyhow::Result<u8> {
    let cfg = match config(args)? {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ehrgate translate: {e}");
            return Ok(exit::USAGE);
        }
    };
    let translator = match V2ToFhir::new(cfg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ehrgate translate: {e}");
            return Ok(exit::USAGE);
        }
    };
    let sources = match input::read(&args.input) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ehrgate translate: {e}");
            return Ok(exit::USAGE);
        }
    };
    // Split everything first: the output format depends on the count.
    let mut items = Vec::new();
    for s in &sources {
        for item in batch::split(&s.bytes) {
            items.push((s.name.as_str(), item));
        }
    }
    let ndjson = items.len() != 1;
    let progress = if items.len() >= PROGRESS_THRESHOLD && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(items.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut reports = Vec::new();
    let mut failed = 0usize;
    let mut line = Vec::with_capacity(1 << 16);
    for (index, (source, item)) in items.iter().enumerate() {
        progress.inc(1);
        let outcome = match item {
            Err(e) => Err(format!("{}: {}", e.location(), e.kind())),
            Ok(b) => match Message::parse(b.bytes) {
                Err(e) => Err(format!("{}: {}", e.location(), e.kind())),
                Ok(msg) => {
                    translate_one(&translator, &msg, ndjson, &mut line).map_err(|e| e.to_string())
                }
            },
        };
        match outcome {
            Ok(t) => {
                if ndjson {
                    // compact bytes straight from the translator (no
                    // serde_json::Value in between), one Bundle per line
                    line.push(b'\n');
                    out.write_all(&line)?;
                } else if let Some(v) = &t.output {
                    super::write_json(&mut out, v, false)?;
                }
                reports.push(MessageReport {
                    index,
                    source,
                    ok: true,
                    error: None,
                    unmapped: t.unmapped,
                    warnings: t.warnings,
                });
            }
            Err(reason) => {
                failed += 1;
                progress.suspend(|| eprintln!("message {index} ({source}): {reason}"));
                reports.push(MessageReport {
                    index,
                    source,
                    ok: false,
                    error: Some(reason),
                    unmapped: Vec::new(),
                    warnings: Vec::new(),
                });
            }
        }
    }
    progress.finish_and_clear();
    out.flush()?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&reports)?;
        std::fs::write(path, text).with_context(|| format!("writing report {}", path.display()))?;
    }
    if items.is_empty() {
        eprintln!("ehrgate translate: no HL7 v2 message in the input");
        return Ok(exit::FAILED);
    }
    Ok(if failed > 0 { exit::FAILED } else { exit::OK })
}
