//! The input: one resource or a Bundle, flattened to a list of resources
//! with their FHIR paths, and the references between them resolved
//! (`Patient/123`, a Bundle `fullUrl`, `#contained`).

use std::collections::HashMap;

use serde_json::Value;

use super::error::FhirV2Error;

/// One resource of the input.
#[derive(Debug)]
pub struct Res<'a> {
    /// `resourceType`.
    pub kind: &'a str,
    /// The resource.
    pub value: &'a Value,
    /// Its FHIR path (`Bundle.entry[2].resource`, or the resource type for
    /// a single resource).
    pub path: String,
}

/// Most resources taken from one input; a Bundle above it is refused
/// rather than translated into a message no receiver would take.
pub const MAX_RESOURCES: usize = 10_000;

/// The resources of one input, indexed by reference.
#[derive(Debug)]
pub struct Resources<'a> {
    /// In input order (contained resources after their container).
    pub list: Vec<Res<'a>>,
    by_ref: HashMap<String, usize>,
}

// === impl Resources ===

impl<'a> Resources<'a> {
    /// Reads `input`: a resource or a Bundle (its entries' resources).
    pub fn read(input: &'a Value) -> Result<Self, FhirV2Error> {
        let kind = resource_type(input, "$")?;
        let mut r = Resources {
            list: Vec::new(),
            by_ref: HashMap::new(),
        };
        if kind == "Bundle" {
            let entries = input.get("entry").and_then(Value::as_array);
            for (i, e) in entries.into_iter().flatten().enumerate() {
                let path = format!("Bundle.entry[{i}].resource");
                let Some(res) = e.get("resource") else {
                    continue;
                };
                let kind = resource_type(res, &path)?;
                if kind == "Bundle" {
                    return Err(FhirV2Error::NotFhir {
                        location: path,
                        reason: "a Bundle inside a Bundle is not read".into(),
                    });
                }
                let full_url = e.get("fullUrl").and_then(Value::as_str);
                r.add(kind, res, path, full_url)?;
            }
        } else {
            r.add(kind, input, kind.to_owned(), None)?;
        }
        Ok(r)
    }

    fn add(
        &mut self,
        kind: &'a str,
        value: &'a Value,
        path: String,
        full_url: Option<&str>,
    ) -> Result<(), FhirV2Error> {
        if self.list.len() >= MAX_RESOURCES {
            return Err(FhirV2Error::NotFhir {
                location: path,
                reason: format!("more than {MAX_RESOURCES} resources in one input"),
            });
        }
        let idx = self.list.len();
        if let Some(u) = full_url {
            self.by_ref.entry(u.to_owned()).or_insert(idx);
        }
        if let Some(id) = value.get("id").and_then(Value::as_str) {
            self.by_ref.entry(format!("{kind}/{id}")).or_insert(idx);
        }
        let contained: Vec<&'a Value> = value
            .get("contained")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        self.list.push(Res { kind, value, path });
        let container_path = self.list[idx].path.clone();
        for (ci, c) in contained.into_iter().enumerate() {
            let cpath = format!("{container_path}.contained[{ci}]");
            let ckind = resource_type(c, &cpath)?;
            let cidx = self.list.len();
            if let Some(id) = c.get("id").and_then(Value::as_str) {
                // `#id` resolves inside its container only; kept global
                // under the container index so two containers never clash
                self.by_ref.insert(format!("{idx}#{id}"), cidx);
            }
            self.list.push(Res {
                kind: ckind,
                value: c,
                path: cpath,
            });
        }
        Ok(())
    }

    /// The resource a Reference (from resource `from`) points at.
    pub fn resolve(&self, from: usize, reference: &Value) -> Option<usize> {
        let r = reference.get("reference").and_then(Value::as_str)?;
        if let Some(local) = r.strip_prefix('#') {
            return self.by_ref.get(&format!("{from}#{local}")).copied();
        }
        if let Some(&i) = self.by_ref.get(r) {
            return Some(i);
        }
        // an absolute URL ending in Type/id (versioned references too)
        let trimmed = r.split("/_history/").next().unwrap_or(r);
        let mut parts = trimmed.rsplit('/');
        let (id, kind) = (parts.next()?, parts.next()?);
        self.by_ref.get(&format!("{kind}/{id}")).copied()
    }

    /// Indices of the resources of `kind`, in input order.
    pub fn of_kind(&self, kind: &str) -> Vec<usize> {
        self.list
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == kind)
            .map(|(i, _)| i)
            .collect()
    }

    /// True when a resource of `kind` is present.
    pub fn has(&self, kind: &str) -> bool {
        self.list.iter().any(|r| r.kind == kind)
    }
}

fn resource_type<'a>(v: &'a Value, path: &str) -> Result<&'a str, FhirV2Error> {
    if !v.is_object() {
        return Err(FhirV2Error::NotFhir {
            location: path.to_owned(),
            reason: "not a JSON object".into(),
        });
    }
    v.get("resourceType")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| FhirV2Error::NotFhir {
            location: path.to_owned(),
            reason: "no resourceType".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bundle_references_resolve() {
        let b = json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p"}},
            {"fullUrl": "http://x/fhir/Observation/o", "resource": {"resourceType": "Observation", "id": "o",
                "contained": [{"resourceType": "Specimen", "id": "s"}],
                "subject": {"reference": "urn:uuid:p1"}, "specimen": {"reference": "#s"}}}
        ]});
        let r = Resources::read(&b).unwrap();
        assert_eq!(r.list.len(), 3);
        assert_eq!(r.list[2].path, "Bundle.entry[1].resource.contained[0]");
        let obs = r.list[1].value;
        assert_eq!(r.resolve(1, &obs["subject"]), Some(0));
        assert_eq!(r.resolve(1, &obs["specimen"]), Some(2));
        assert_eq!(r.resolve(0, &obs["specimen"]), None);
        assert_eq!(r.resolve(1, &json!({"reference": "Patient/p"})), Some(0));
        assert_eq!(
            r.resolve(
                1,
                &json!({"reference": "http://y/fhir/Patient/p/_history/2"})
            ),
            Some(0)
        );
    }

    #[test]
    fn refusals_name_the_place() {
        let e = Resources::read(&json!([1])).unwrap_err();
        assert_eq!(e.to_string(), "$: not a JSON object");
        let b = json!({"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]});
        let e = Resources::read(&b).unwrap_err();
        assert_eq!(e.to_string(), "Bundle.entry[0].resource: no resourceType");
    }
}
