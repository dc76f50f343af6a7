//! The official FHIR R4 JSON schema as one validator, shared by the
//! conformance tests and the reference FHIR backend.
//!
//! The schema (draft-06) dispatches on `resourceType` with a `oneOf` over
//! all 147 resource types, at the root and in `ResourceList` (every
//! `Bundle.entry.resource`, every `contained`). jsonschema 0.30 compiles a
//! `$ref` by inlining its target (only a cycle becomes lazy), so compiling
//! the whole schema compiles every resource type, each with its own copy
//! of the data types: 8 s in a debug build on an idle 2-core machine, 25 s
//! under load, once in every test binary that validates (and the `oneOf`
//! then validated each resource against every branch in full).
//!
//! So the schema is split by resource type, and a type is compiled when a
//! resource of that type is first validated (a v2 Bundle has about 20 of
//! the 147): `ResourceList` becomes shallow (an object whose
//! `resourceType` is one of the listed types), and every resource found
//! in the instance (any object with a `resourceType`: the root, entries,
//! contained resources, `Parameters.parameter.resource`) is validated
//! against its own type's schema, its errors located from the root. An
//! instance is valid exactly when it was valid under the whole schema:
//! each resource position gets the same check, split in two. Draft 7 is
//! used, as before; the FHIR schema uses nothing whose meaning differs
//! between draft 6 and draft 7.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

use crate::corpus_dir;

/// The FHIR R4 schema, compiled per resource type on first use.
#[derive(Debug)]
pub struct FhirSchema {
    /// The schema with the shallow `ResourceList`, without a root.
    schema: Value,
    /// The shallow `ResourceList` check, for the root resource.
    list: jsonschema::Validator,
    /// Compiled resource types.
    types: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static SHARED: OnceLock<Result<FhirSchema, String>> = OnceLock::new();

/// The resource type names of `ResourceList`'s `oneOf`.
fn type_names(one_of: &Value) -> Vec<String> {
    one_of
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["$ref"].as_str())
                .filter_map(|r| r.rsplit('/').next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every object with a `resourceType` in `v`, with its JSON pointer.
fn resources<'v>(v: &'v Value, pointer: &mut String, out: &mut Vec<(String, &'v Value)>) {
    match v {
        Value::Object(o) => {
            if o.get("resourceType").is_some_and(Value::is_string) {
                out.push((pointer.clone(), v));
            }
            for (k, x) in o {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                resources(x, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                resources(x, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

// === impl FhirSchema ===

impl FhirSchema {
    /// Reads the schema file at `path` (`fhir.schema.json` of R4); types
    /// are compiled when first needed.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut schema: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let names = type_names(&schema["definitions"]["ResourceList"]["oneOf"]);
        if names.len() < 140 {
            return Err("schema has no ResourceList oneOf".into());
        }
        let shallow = json!({
            "type": "object",
            "required": ["resourceType"],
            "properties": {"resourceType": {"enum": names}}
        });
        let list = jsonschema::draft7::new(&shallow).map_err(|e| e.to_string())?;
        schema["definitions"]["ResourceList"] = shallow;
        if let Value::Object(o) = &mut schema {
            o.remove("oneOf");
            o.remove("discriminator");
            o.remove("$schema");
        }
        Ok(FhirSchema {
            schema,
            list,
            types: Mutex::new(HashMap::new()),
        })
    }

    /// The schema bundled in the corpus, read once per process.
    pub fn shared() -> Result<&'static FhirSchema, String> {
        SHARED
            .get_or_init(|| Self::load(&corpus_dir().join("fhir/schema/fhir.schema.json")))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The validator of resource type `name` (compiled on first use);
    /// `Ok(None)` for a name the schema does not define, `Err` when its
    /// schema does not compile (a broken schema file: reported as an
    /// error of the instance, never as valid).
    fn of_type(&self, name: &str) -> Result<Option<Arc<jsonschema::Validator>>, String> {
        if self.schema["definitions"].get(name).is_none() {
            return Ok(None);
        }
        let mut types = self.types.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = types.get(name) {
            return Ok(Some(Arc::clone(v)));
        }
        let mut root = self.schema.clone();
        if let Value::Object(o) = &mut root {
            o.insert("$ref".into(), Value::from(format!("#/definitions/{name}")));
        }
        let v = Arc::new(
            jsonschema::draft7::new(&root)
                .map_err(|e| format!("schema of {name} does not compile: {e}"))?,
        );
        types.insert(name.to_owned(), Arc::clone(&v));
        Ok(Some(v))
    }

    /// Errors of a resource (any type, Bundles included), at most `max`,
    /// each with its JSON location; empty when valid.
    pub fn errors(&self, resource: &Value, max: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .list
            .iter_errors(resource)
            .take(max)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        let mut found = Vec::new();
        resources(resource, &mut String::new(), &mut found);
        for (pointer, r) in found {
            if out.len() >= max {
                break;
            }
            let name = r["resourceType"].as_str().unwrap_or_default();
            // an unknown type is the shallow check's error (at the root
            // above, in the parent's ResourceList otherwise)
            let v = match self.of_type(name) {
                Ok(Some(v)) => v,
                Ok(None) => continue,
                Err(e) => {
                    out.push(e);
                    continue;
                }
            };
            let left = max - out.len();
            out.extend(
                v.iter_errors(r)
                    .take(left)
                    .map(|e| format!("{e} at {pointer}{}", e.instance_path)),
            );
        }
        out
    }

    /// Whether the resource is valid.
    pub fn is_valid(&self, resource: &Value) -> bool {
        self.errors(resource, 1).is_empty()
    }
}

/// Schema errors of a resource against the corpus schema, at most `max`.
pub fn schema_errors(resource: &Value, max: usize) -> Result<Vec<String>, String> {
    Ok(FhirSchema::shared()?.errors(resource, max))
}
