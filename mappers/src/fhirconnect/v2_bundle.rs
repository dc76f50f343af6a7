//! A FHIR transaction Bundle made from an HL7 v2 message (`crate::v2fhir`),
//! reshaped for the openEHR mappings: pure, no I/O, so it belongs with the
//! mappings rather than with the gateway's delivery code.
//!
//! Two v2 shapes differ from what the shipped templates hold:
//! - a Specimen (SPM) that a DiagnosticReport names in `specimen` goes into
//!   that report as a contained resource (`#specimenN`), since the
//!   laboratory report template holds the specimen inside the result; a
//!   Specimen no report names stays an entry of its own (no template holds
//!   a lone specimen, so the caller decides what to do with it);
//! - an Observation that is `partOf` an Immunization (a VXU's order OBX:
//!   funding source, eligibility, the vaccine information statement) is,
//!   per the v2-to-FHIR IG, detail of the immunization, not a result:
//!   [`Reshaped::is_immunization_detail`] tells it.

use serde_json::{json, Value};

/// The resource type of a Bundle entry (`""` when it has none).
pub fn resource_type_of(e: &Value) -> &str {
    e.pointer("/resource/resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A Bundle's entries, reshaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Reshaped {
    /// The entries, every Specimen a report names contained in it.
    pub entries: Vec<Value>,
    /// How many Specimen entries were carried into reports.
    pub specimens_contained: usize,
    /// The `fullUrl`s of the Immunization entries.
    immunizations: Vec<String>,
}

// === impl Reshaped ===

impl Reshaped {
    /// Whether `entry` is an Observation that is `partOf` one of the
    /// Bundle's Immunizations (immunization detail, not a result).
    pub fn is_immunization_detail(&self, entry: &Value) -> bool {
        resource_type_of(entry) == "Observation"
            && entry
                .pointer("/resource/partOf")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r.get("reference")
                            .and_then(Value::as_str)
                            .is_some_and(|u| self.immunizations.iter().any(|i| i == u))
                    })
                })
    }
}

/// Reshapes the entries of a v2-made transaction Bundle.
pub fn reshape(entries: &[Value]) -> Reshaped {
    let immunizations = entries
        .iter()
        .filter(|e| resource_type_of(e) == "Immunization")
        .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let (entries, specimens_contained) = contain_specimens(entries);
    Reshaped {
        entries,
        specimens_contained,
        immunizations,
    }
}

/// Moves every Specimen entry a DiagnosticReport's `specimen` names into
/// that report's `contained` (the reference becomes `#specimenN`); returns
/// the entries left and how many Specimens were carried. A Specimen two
/// reports name is contained in each.
fn contain_specimens(entries: &[Value]) -> (Vec<Value>, usize) {
    let rt_of = resource_type_of;
    let specimens: Vec<(&str, &Value)> = entries
        .iter()
        .filter(|e| rt_of(e) == "Specimen")
        .filter_map(|e| Some((e.get("fullUrl")?.as_str()?, e.get("resource")?)))
        .collect();
    if specimens.is_empty() {
        return (entries.to_vec(), 0);
    }
    let mut carried: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if rt_of(e) == "Specimen" {
            continue;
        }
        let mut e = e.clone();
        if rt_of(&e) == "DiagnosticReport" {
            if let Some(report) = e.get_mut("resource").and_then(Value::as_object_mut) {
                let mut contained = Vec::new();
                if let Some(refs) = report.get_mut("specimen").and_then(Value::as_array_mut) {
                    for r in refs.iter_mut() {
                        let Some(url) = r.get("reference").and_then(Value::as_str) else {
                            continue;
                        };
                        let Some((url, spec)) = specimens.iter().find(|(u, _)| *u == url) else {
                            continue;
                        };
                        let id = format!("specimen{}", contained.len() + 1);
                        let mut spec = (*spec).clone();
                        if let Some(o) = spec.as_object_mut() {
                            o.insert("id".into(), json!(id));
                        }
                        contained.push(spec);
                        r["reference"] = json!(format!("#{id}"));
                        if !carried.contains(url) {
                            carried.push(url);
                        }
                    }
                }
                if !contained.is_empty() {
                    report.insert("contained".into(), Value::Array(contained));
                }
            }
        }
        out.push(e);
    }
    // A Specimen no report names stays an entry of its own.
    for e in entries.iter().filter(|e| rt_of(e) == "Specimen") {
        let url = e.get("fullUrl").and_then(Value::as_str).unwrap_or("");
        if !carried.contains(&url) {
            out.push(e.clone());
        }
    }
    (out, carried.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str, resource: &Value) -> Value {
        json!({"fullUrl": url, "resource": resource})
    }

    #[test]
    fn a_named_specimen_is_contained_a_lone_one_stays() {
        let entries = vec![
            entry(
                "urn:s1",
                &json!({"resourceType": "Specimen", "type": {"text": "blood"}}),
            ),
            entry("urn:s2", &json!({"resourceType": "Specimen"})),
            entry(
                "urn:r1",
                &json!({"resourceType": "DiagnosticReport", "specimen": [{"reference": "urn:s1"}]}),
            ),
        ];
        let r = reshape(&entries);
        assert_eq!(r.specimens_contained, 1);
        let types: Vec<&str> = r.entries.iter().map(resource_type_of).collect();
        assert_eq!(types, ["DiagnosticReport", "Specimen"]);
        let report = &r.entries[0]["resource"];
        assert_eq!(report["specimen"][0]["reference"], "#specimen1");
        assert_eq!(report["contained"][0]["id"], "specimen1");
        assert_eq!(report["contained"][0]["type"]["text"], "blood");
        assert_eq!(r.entries[1]["fullUrl"], "urn:s2");
    }

    #[test]
    fn without_specimens_the_entries_are_unchanged() {
        let entries = vec![entry("urn:p", &json!({"resourceType": "Patient"}))];
        let r = reshape(&entries);
        assert_eq!((r.entries, r.specimens_contained), (entries, 0));
    }

    #[test]
    fn observations_part_of_an_immunization_are_detail() {
        let entries = vec![
            entry("urn:i1", &json!({"resourceType": "Immunization"})),
            entry(
                "urn:o1",
                &json!({"resourceType": "Observation", "partOf": [{"reference": "urn:i1"}]}),
            ),
            entry(
                "urn:o2",
                &json!({"resourceType": "Observation", "partOf": [{"reference": "urn:x"}]}),
            ),
            entry("urn:o3", &json!({"resourceType": "Observation"})),
        ];
        let r = reshape(&entries);
        let detail: Vec<bool> = r
            .entries
            .iter()
            .map(|e| r.is_immunization_detail(e))
            .collect();
        assert_eq!(detail, [false, true, false, false]);
    }
}
