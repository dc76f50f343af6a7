//! FHIR output checks shared by the conformance tests: the official R4
//! JSON schema and strict fhirbolt parsing.
//!
//! The schema (draft-06) dispatches on `resourceType` with a `oneOf` over
//! all 147 resource types, at the root and in `ResourceList` (every
//! `Bundle.entry.resource`). A `oneOf` validates the instance against every
//! branch in full, which makes a Bundle take seconds in a debug build. The
//! schema is therefore rewritten once, before compiling, into the
//! equivalent discriminated form: `resourceType` must be one of the listed
//! types, and an `if resourceType == T then $ref T` per type. That needs
//! draft 7 (`if`/`then`); the FHIR schema uses nothing whose meaning
//! differs between draft 6 and draft 7. One validator, compiled once per
//! test binary.

use std::sync::OnceLock;

use ehrgate_conformance::corpus_dir;
use serde_json::{json, Value};

static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();

/// The `oneOf` of resource references -> the discriminated form.
fn discriminated(one_of: &Value) -> Value {
    let refs: Vec<&str> = one_of
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["$ref"].as_str()).collect())
        .unwrap_or_default();
    let names: Vec<&str> = refs.iter().filter_map(|r| r.rsplit('/').next()).collect();
    let branches: Vec<Value> = refs
        .iter()
        .zip(&names)
        .map(|(r, n)| {
            json!({"if": {"properties": {"resourceType": {"const": n}}}, "then": {"$ref": r}})
        })
        .collect();
    json!({
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": names}},
        "allOf": branches
    })
}

fn validator() -> Result<&'static jsonschema::Validator, String> {
    VALIDATOR
        .get_or_init(|| {
            let path = corpus_dir().join("fhir/schema/fhir.schema.json");
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut schema: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let list = discriminated(&schema["definitions"]["ResourceList"]["oneOf"]);
            if list["properties"]["resourceType"]["enum"]
                .as_array()
                .map_or(0, Vec::len)
                < 140
            {
                return Err("schema has no ResourceList oneOf".into());
            }
            schema["definitions"]["ResourceList"] = list;
            if let Value::Object(o) = &mut schema {
                o.remove("oneOf");
                o.remove("discriminator");
                o.remove("$schema");
                o.insert("$ref".into(), Value::from("#/definitions/ResourceList"));
            }
            jsonschema::draft7::new(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Schema errors of a resource (any type, Bundles included), at most
/// `max`; empty when valid.
pub fn schema_errors(resource: &Value, max: usize) -> Result<Vec<String>, String> {
    let v = validator()?;
    Ok(v.iter_errors(resource)
        .take(max)
        .map(|e| format!("{e} at {}", e.instance_path))
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
