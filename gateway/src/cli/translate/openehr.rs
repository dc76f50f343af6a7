//! `translate --from fhir --to openehr --template ID [--format canonical|flat]`
//! and `translate --from openehr --to fhir [--template ID] [--subject
//! Patient/ID]`: FHIR R4 <->
//! openEHR compositions through the shipped FHIRconnect mappings
//! (`templates/mappings/`).
//!
//! One input: the result (pretty JSON) on stdout. Several (a directory):
//! one result per line (NDJSON). A composition that breaks its template is
//! not written; its issues go to stderr (FHIR path and openEHR path, never
//! values). Exit codes as for every `translate`: 0 all translated, 1 any
//! input failed, 2 usage (unknown template, unreadable input, malformed
//! `--subject`).
//!
//! Two shipped sets may map one template (`Growth chart`): going to
//! openEHR the input's resource type picks the set, or the content when
//! that set reads nothing of it ([`shipped::for_resource`]); going to FHIR the composition's content does
//! ([`shipped::for_composition`]). Going to openEHR the report is exact
//! ([`FhirToOpenEhr::translate_exact`]): every element a read would not
//! give back equal is named.

use std::io::Write;

use anyhow::Context;
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::check::Issue;
use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::patient_ref;
use ehrgate_mappers::fhirconnect::shipped::{self, Shipped, SHIPPED};
use ehrgate_mappers::fhirconnect::translators::{
    detect, FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir, TranslateError,
};
use ehrgate_mappers::translation::{Translation, Translator, Unmapped, Warning};
use serde::Serialize;
use serde_json::Value;

use super::{input, OpenEhrFormatArg, TranslateArgs};
use crate::cli::exit;
use crate::facade::date::now_rfc3339;

/// Territory written when a mapping leaves `territory` empty.
const DEFAULT_TERRITORY: &str = "DE";
/// Composer name written when a mapping leaves `composer` empty: the
/// system, never a person.
const COMPOSER: &str = "ehrgate";

/// The report of one input (`--report`): locations and reasons only.
#[derive(Debug, Serialize)]
struct Report<'a> {
    index: usize,
    source: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    issues: Vec<Issue>,
    unmapped: Vec<Unmapped>,
    warnings: Vec<Warning>,
}

/// Which direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// FHIR -> openEHR.
    ToOpenEhr,
    /// openEHR -> FHIR.
    ToFhir,
}

/// Runs the direction; returns the exit code.
pub fn run(args: &TranslateArgs, direction: Direction) -> anyhow::Result<u8> {
    if let Some(subject) = &args.subject {
        if direction != Direction::ToFhir {
            eprintln!("ehrgate translate: --subject is for --from openehr --to fhir");
            return Ok(exit::USAGE);
        }
        if let Err(e) = patient_ref::validate(subject) {
            eprintln!("ehrgate translate: --subject: {e}");
            return Ok(exit::USAGE);
        }
    }
    let sources = match input::read(&args.input) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ehrgate translate: {e}");
            return Ok(exit::USAGE);
        }
    };
    let mut docs = Vec::with_capacity(sources.len());
    for s in &sources {
        docs.push((s.name.as_str(), serde_json::from_slice::<Value>(&s.bytes)));
    }
    // The template: given, or (openEHR -> FHIR) read from the first input.
    let template = match (&args.template, direction) {
        (Some(t), _) => t.clone(),
        (None, Direction::ToFhir) => match docs
            .iter()
            .find_map(|(_, d)| d.as_ref().ok().and_then(template_of))
        {
            Some(t) => t,
            None => {
                eprintln!("ehrgate translate: no --template and none found in the input");
                return Ok(exit::USAGE);
            }
        },
        (None, Direction::ToOpenEhr) => {
            eprintln!("ehrgate translate: --from fhir --to openehr needs --template ID");
            return Ok(exit::USAGE);
        }
    };
    // Going to openEHR, the first resource picks among sets of one
    // template: by its type, then by what the sets read of it.
    let resource = match direction {
        Direction::ToOpenEhr => docs
            .iter()
            .find_map(|(_, d)| d.as_ref().ok().filter(|v| v.get("resourceType").is_some())),
        Direction::ToFhir => None,
    };
    // Going to FHIR, the first composition's content picks among them
    // (never the list order: `Growth chart` has a Bundle set and a
    // single-Observation set).
    let composition = match direction {
        Direction::ToFhir => docs.iter().find_map(|(_, d)| d.as_ref().ok()),
        Direction::ToOpenEhr => None,
    };
    let found = match (resource, composition) {
        (Some(r), _) => shipped::for_resource(&template, r),
        (None, Some(c)) => shipped::for_composition(&template, c),
        (None, None) => shipped::find(&template),
    };
    let set = match found {
        Ok(s) => s,
        Err(e) => {
            let known: Vec<&str> = SHIPPED.iter().map(|s| s.template_id).collect();
            eprintln!("ehrgate translate: {e} (shipped: {})", known.join(", "));
            return Ok(exit::USAGE);
        }
    };
    let engine = set
        .engine()
        .with_context(|| format!("shipped mapping `{}`", set.name))?;
    let defaults = defaults(set)?;
    let format = match args.format {
        OpenEhrFormatArg::Canonical => OpenEhrFormat::Canonical,
        OpenEhrFormatArg::Flat => OpenEhrFormat::Flat,
    };
    let ndjson = docs.len() != 1;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut reports = Vec::new();
    let mut failed = 0usize;
    for (index, (source, doc)) in docs.into_iter().enumerate() {
        let result = match doc {
            Err(e) => Err((
                format!("not JSON: line {} column {}", e.line(), e.column()),
                Vec::new(),
            )),
            Ok(v) => translate(
                &engine,
                direction,
                format,
                &defaults,
                args.subject.as_deref(),
                &v,
            )
            .map_err(|e| {
                let issues = match &e {
                    TranslateError::Template(i) => i.clone(),
                    _ => Vec::new(),
                };
                (e.to_string(), issues)
            }),
        };
        match result {
            Ok(t) => {
                super::write_json(&mut out, &t.output, ndjson)?;
                reports.push(Report {
                    index,
                    source,
                    ok: true,
                    error: None,
                    issues: Vec::new(),
                    unmapped: t.unmapped,
                    warnings: t.warnings,
                });
            }
            Err((reason, issues)) => {
                failed += 1;
                eprintln!("input {index} ({source}): {reason}");
                for i in &issues {
                    eprintln!(
                        "  {}: {} at {} (from {})",
                        i.code,
                        i.message,
                        i.openehr_path,
                        i.fhir_path.as_deref().unwrap_or("-")
                    );
                }
                reports.push(Report {
                    index,
                    source,
                    ok: false,
                    error: Some(reason),
                    issues,
                    unmapped: Vec::new(),
                    warnings: Vec::new(),
                });
            }
        }
    }
    out.flush()?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&reports)?;
        std::fs::write(path, text).with_context(|| format!("writing report {}", path.display()))?;
    }
    if reports.is_empty() {
        eprintln!("ehrgate translate: no input");
        return Ok(exit::FAILED);
    }
    Ok(if failed > 0 { exit::FAILED } else { exit::OK })
}

fn translate(
    engine: &Engine,
    direction: Direction,
    format: OpenEhrFormat,
    defaults: &CanonicalDefaults,
    subject: Option<&str>,
    input: &Value,
) -> Result<Translation<Value>, TranslateError> {
    match direction {
        Direction::ToOpenEhr => FhirToOpenEhr {
            engine,
            format,
            defaults: defaults.clone(),
        }
        .translate_exact(input),
        Direction::ToFhir => {
            let to_fhir = OpenEhrToFhir::new(engine);
            match subject {
                Some(s) => to_fhir.with_subject(s).translate(input),
                None => to_fhir.translate(input),
            }
        }
    }
}

/// The template a composition names: canonical `archetype_details`, or the
/// shipped set whose FLAT tree id starts the FLAT keys.
fn template_of(doc: &Value) -> Option<String> {
    match detect(doc)? {
        OpenEhrFormat::Canonical => doc
            .pointer("/archetype_details/template_id/value")
            .and_then(Value::as_str)
            .map(str::to_owned),
        OpenEhrFormat::Flat => {
            let first = doc.as_object()?.keys().next()?;
            let tree = first.split('/').next()?;
            SHIPPED.iter().find_map(|s| {
                let e = s.engine().ok()?;
                (e.index()?.tree_id == tree).then(|| s.template_id.to_owned())
            })
        }
    }
}

fn defaults(set: &Shipped) -> anyhow::Result<CanonicalDefaults> {
    let meta = set
        .template()
        .with_context(|| format!("template of `{}`", set.name))?;
    Ok(CanonicalDefaults {
        language: meta.language,
        territory: DEFAULT_TERRITORY.to_owned(),
        composer: COMPOSER.to_owned(),
        time: now_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_format_is_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(
            t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
    }
}
