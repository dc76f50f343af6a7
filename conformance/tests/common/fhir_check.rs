//! FHIR output checks shared by the conformance tests: the official R4
//! JSON schema (draft-06, compiled once per test binary) and strict
//! fhirbolt parsing.

use std::sync::OnceLock;

use serde_json::Value;

use ehrgate_conformance::corpus_dir;

static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();

fn validator() -> Result<&'static jsonschema::Validator, String> {
    VALIDATOR
        .get_or_init(|| {
            let path = corpus_dir().join("fhir/schema/fhir.schema.json");
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let schema: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            jsonschema::draft6::new(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Schema errors of `resource` (empty when valid), at most `max`.
pub fn schema_errors(resource: &Value, max: usize) -> Result<Vec<String>, String> {
    let v = validator()?;
    Ok(v.iter_errors(resource)
        .take(max)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect())
}

/// Parses `json` strictly as an R4 resource with fhirbolt.
pub fn fhirbolt_strict(json: &str) -> Result<(), String> {
    use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
    let cfg = DeserializationConfig {
        mode: DeserializationMode::Strict,
    };
    fhirbolt::json::from_str::<fhirbolt::model::r4::Resource>(json, Some(cfg))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
