//! The official FHIR R4 JSON schema as one validator, shared by the
//! conformance tests and the reference FHIR backend.
//!
//! The schema (draft-06) dispatches on `resourceType` with a `oneOf` over
//! all 147 resource types, at the root and in `ResourceList` (every
//! `Bundle.entry.resource`). A `oneOf` validates the instance against every
//! branch in full, which makes a Bundle take seconds in a debug build. The
//! schema is therefore rewritten once, before compiling, into the
//! equivalent discriminated form: `resourceType` must be one of the listed
//! types, and an `if resourceType == T then $ref T` per type. That needs
//! draft 7 (`if`/`then`); the FHIR schema uses nothing whose meaning
//! differs between draft 6 and draft 7.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::corpus_dir;

/// A compiled FHIR R4 schema.
#[derive(Debug)]
pub struct FhirSchema {
    validator: jsonschema::Validator,
}

static SHARED: OnceLock<Result<FhirSchema, String>> = OnceLock::new();

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

// === impl FhirSchema ===

impl FhirSchema {
    /// Compiles the schema file at `path` (`fhir.schema.json` of R4).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
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
        let validator = jsonschema::draft7::new(&schema).map_err(|e| e.to_string())?;
        Ok(FhirSchema { validator })
    }

    /// The schema bundled in the corpus, compiled once per process.
    pub fn shared() -> Result<&'static FhirSchema, String> {
        SHARED
            .get_or_init(|| Self::load(&corpus_dir().join("fhir/schema/fhir.schema.json")))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Errors of a resource (any type, Bundles included), at most `max`,
    /// each with its JSON location; empty when valid.
    pub fn errors(&self, resource: &Value, max: usize) -> Vec<String> {
        self.validator
            .iter_errors(resource)
            .take(max)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect()
    }

    /// Whether the resource is valid.
    pub fn is_valid(&self, resource: &Value) -> bool {
        self.validator.is_valid(resource)
    }
}

/// Schema errors of a resource against the corpus schema, at most `max`.
pub fn schema_errors(resource: &Value, max: usize) -> Result<Vec<String>, String> {
    Ok(FhirSchema::shared()?.errors(resource, max))
}
