//! `translate --from fhir --to hl7v2 [--message ORU^R01] [--version 2.5.1]
//! FILE`: FHIR R4 (a resource, a Bundle, or NDJSON: one resource or Bundle
//! per line) to HL7 v2 ER7 for legacy receivers.
//!
//! Each input (a JSON document, or a line of NDJSON) gives one message:
//! segments ended by CR, a line feed after each message. An input that
//! cannot make the message is reported on stderr with its FHIR path
//! (never values) and the others are still written. Exit codes as for
//! every `translate`: 0 all translated, 1 any input failed, 2 usage.

use std::io::Write;

use anyhow::Context;
use ehrgate_mappers::fhir2v2::{
    charset_named, Config, Endpoint, FhirToV2, LengthPolicy, MessageType, Request, Version,
};
use ehrgate_mappers::translation::{Unmapped, Warning};
use serde::Serialize;
use serde_json::Value;

use super::{input, TranslateArgs};
use crate::cli::exit;

/// The report of one input (`--report`): locations and reasons only.
#[derive(Debug, Serialize)]
struct Report<'a> {
    index: usize,
    source: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    unmapped: Vec<Unmapped>,
    warnings: Vec<Warning>,
}

/// The settings from the arguments; `Err` is a usage error.
fn config(args: &TranslateArgs) -> Result<Config, String> {
    let mut cfg = Config::default();
    if let Some(v) = &args.hl7_version {
        cfg.version = v.parse::<Version>().map_err(|e| e.to_string())?;
    }
    if let Some(c) = &args.charset {
        cfg.charset = charset_named(c).map_err(|e| e.to_string())?;
    }
    if args.refuse_overlong {
        cfg.lengths = LengthPolicy::Refuse;
    }
    for (arg, slot) in [
        (&args.sending_application, &mut cfg.sending_application),
        (&args.sending_facility, &mut cfg.sending_facility),
        (&args.receiving_application, &mut cfg.receiving_application),
        (&args.receiving_facility, &mut cfg.receiving_facility),
    ] {
        if let Some(name) = arg {
            *slot = Endpoint::named(name.clone());
        }
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The FHIR documents of one source: the whole text when it is one JSON
/// value, else one per non-blank line (NDJSON). Each carries where it is
/// (`line 3`) for the error report.
fn documents(bytes: &[u8]) -> Vec<(String, Result<Value, String>)> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return vec![(String::new(), Ok(v))];
    }
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let at = format!("line {}", n + 1);
            let v = serde_json::from_str::<Value>(l).map_err(|e| format!("not JSON: {e}"));
            (at, v)
        })
        .collect()
}

/// Runs the direction; returns the exit code.
pub fn run(args: &TranslateArgs) -> anyhow::Result<u8> {
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ehrgate translate: {e}");
            return Ok(exit::USAGE);
        }
    };
    let message = match &args.message {
        Some(m) => match m.parse::<MessageType>() {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("ehrgate translate: {e}");
                return Ok(exit::USAGE);
            }
        },
        None => None,
    };
    let translator = match FhirToV2::new(cfg) {
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut reports = Vec::new();
    let mut failed = 0usize;
    let mut index = 0usize;
    let mut buf = Vec::with_capacity(1 << 14);
    for s in &sources {
        for (at, doc) in documents(&s.bytes) {
            let where_ = if at.is_empty() {
                s.name.clone()
            } else {
                format!("{}, {at}", s.name)
            };
            buf.clear();
            let outcome = doc.and_then(|v| {
                translator
                    .translate_into(Request { fhir: &v, message }, &mut buf)
                    .map_err(|e| e.to_string())
            });
            match outcome {
                Ok(t) => {
                    buf.push(b'\n');
                    out.write_all(&buf)?;
                    reports.push(Report {
                        index,
                        source: &s.name,
                        ok: true,
                        message: Some(t.output.name()),
                        error: None,
                        unmapped: t.unmapped,
                        warnings: t.warnings,
                    });
                }
                Err(reason) => {
                    failed += 1;
                    eprintln!("input {index} ({where_}): {reason}");
                    reports.push(Report {
                        index,
                        source: &s.name,
                        ok: false,
                        message: None,
                        error: Some(reason),
                        unmapped: Vec::new(),
                        warnings: Vec::new(),
                    });
                }
            }
            index += 1;
        }
    }
    out.flush()?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&reports)?;
        std::fs::write(path, text).with_context(|| format!("writing report {}", path.display()))?;
    }
    if index == 0 {
        eprintln!("ehrgate translate: no FHIR resource in the input");
        return Ok(exit::FAILED);
    }
    Ok(if failed > 0 { exit::FAILED } else { exit::OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_or_ndjson_lines() {
        let one = documents(br#"{"resourceType": "Patient"}"#);
        assert_eq!(one.len(), 1);
        assert!(one[0].1.is_ok());
        let many = documents(
            b"{\"resourceType\": \"Patient\"}\n\n{\"resourceType\": \"Observation\"}\nnope\n",
        );
        assert_eq!(many.len(), 3);
        assert_eq!(many[1].0, "line 3");
        assert_eq!(many[1].1.as_ref().unwrap()["resourceType"], "Observation");
        assert_eq!(many[2].0, "line 4");
        assert!(many[2].1.is_err());
    }
}
