//! Helpers shared by the v2 -> FHIR conformance tests.

#![allow(dead_code)]

pub mod fhir_check;

use ehrgate_conformance::corpus_dir;
use ehrgate_mappers::hl7v2::Message;
use ehrgate_mappers::translation::{Translation, Translator};
use ehrgate_mappers::v2fhir::{Config, V2ToFhir};
use serde_json::Value;

/// Translates one corpus message file (`hl7v2/NAME.hl7`).
pub fn translate_file(
    name: &str,
    cfg: Config,
    lenient: bool,
) -> Result<Translation<Value>, String> {
    let path = corpus_dir().join("hl7v2").join(format!("{name}.hl7"));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    translate_bytes(&bytes, cfg, lenient)
}

/// Translates one message.
pub fn translate_bytes(
    bytes: &[u8],
    cfg: Config,
    lenient: bool,
) -> Result<Translation<Value>, String> {
    let msg = Message::parse(bytes).map_err(|e| e.to_string())?;
    let t = V2ToFhir::new(cfg)
        .map_err(|e| e.to_string())?
        .lenient(lenient);
    t.translate(&msg).map_err(|e| e.to_string())
}

/// The resources of a Bundle.
pub fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|a| a.iter().map(|e| &e["resource"]).collect())
        .unwrap_or_default()
}

/// The resources of one type.
pub fn of_type<'b>(bundle: &'b Value, rtype: &str) -> Vec<&'b Value> {
    resources(bundle)
        .into_iter()
        .filter(|r| r["resourceType"] == rtype)
        .collect()
}
