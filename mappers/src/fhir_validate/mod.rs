//! FHIR R4 input validation: is this JSON a valid R4 resource, structurally?
//!
//! A translator that meets a string where a CodeableConcept belongs, or
//! `"fooBar": 1`, can only skip it; by then the client believes it was
//! stored. So writes are checked before translation, against the R4
//! structure ehrgate carries as data (the element table generated from the
//! official R4 JSON schema, [`crate::fhirconnect::fhir_schema`], and the
//! tables of [`rules`]):
//! - every property is an element of its type (or the `_name` extension
//!   sibling of a primitive), and `resourceType` names a resource;
//! - each value has its element's type: a JSON object for complex types,
//!   the JSON kind and lexical form of primitives (dates, codes, ids...);
//! - single elements are not arrays and repeating ones are arrays; no
//!   empty strings, objects or arrays (R4 `json.html`);
//! - at most one variant of a choice element (`value[x]`);
//! - required elements are present (`Observation.status`, `code`...);
//! - `code` elements and CodeableConcepts with a `required` binding hold a
//!   code of the value set.
//!
//! Not checked: invariants (FHIRPath constraints such as `ait-1`),
//! extensible/preferred bindings, profiles, references' targets.
//!
//! Each [`Problem`] names its FHIR path (`Observation.code`,
//! `Observation.component[1].valueQuantity.value`) and what is wrong, never
//! the value (it may be patient data). [`operation_outcome`] renders them.
//!
//! # Layout
//! - [`rules`]: required elements and bindings, as data.
//! - [`primitive`]: JSON kinds and lexical forms of the primitive types.
//! - `walk`: the one pass over the resource.

pub mod primitive;
pub mod rules;
mod walk;

use serde::Serialize;
use serde_json::{json, Value};

/// Bounds of one validation: the input comes from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects followed (deeper is one problem).
    pub max_depth: usize,
    /// Problems reported before the walk stops (with one last problem
    /// saying so).
    pub max_problems: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 48,
            max_problems: 100,
        }
    }
}

/// What is wrong at one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Not a JSON object with a `resourceType`.
    NotAResource,
    /// `resourceType` names no R4 resource.
    UnknownResourceType,
    /// The property is no element of its type.
    UnknownElement,
    /// The value has the wrong JSON kind for the element's type (a string
    /// where a CodeableConcept belongs).
    WrongType {
        /// The FHIR type or JSON kind the element takes.
        expected: &'static str,
    },
    /// The value has the right kind but not the type's lexical form (a
    /// date-time without a zone, an id with `_`).
    BadValue {
        /// The FHIR primitive type.
        ty: &'static str,
    },
    /// An empty string, object or array (R4 JSON forbids them).
    Empty,
    /// A repeating element sent as a single value.
    ExpectedArray,
    /// A single element (0..1 or 1..1) sent as an array.
    ExpectedSingle,
    /// Two variants of one choice element (`valueQuantity` and
    /// `valueString`).
    SeveralChoices,
    /// A required element is absent.
    Missing,
    /// A code outside the required value set.
    CodeNotAllowed,
    /// A CodeableConcept with a required binding has no coding from it.
    NoCodingFromValueSet,
    /// Nested deeper than [`Limits::max_depth`].
    TooDeep,
    /// [`Limits::max_problems`] reached; the rest was not checked.
    TooManyProblems,
}

/// One problem of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The FHIR path of the element (`Observation.code`), as the JSON
    /// names it (choice variants by property: `valueQuantity`).
    pub path: String,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

// === impl Problem ===

impl Problem {
    /// A stable code per kind (for `details.coding` and tests).
    pub fn code(&self) -> &'static str {
        match self.kind {
            ProblemKind::NotAResource => "fhir.not-a-resource",
            ProblemKind::UnknownResourceType => "fhir.unknown-resource-type",
            ProblemKind::UnknownElement => "fhir.unknown-element",
            ProblemKind::WrongType { .. } => "fhir.wrong-type",
            ProblemKind::BadValue { .. } => "fhir.bad-value",
            ProblemKind::Empty => "fhir.empty",
            ProblemKind::ExpectedArray => "fhir.expected-array",
            ProblemKind::ExpectedSingle => "fhir.expected-single",
            ProblemKind::SeveralChoices => "fhir.several-choices",
            ProblemKind::Missing => "fhir.required-missing",
            ProblemKind::CodeNotAllowed => "fhir.code-not-in-value-set",
            ProblemKind::NoCodingFromValueSet => "fhir.no-coding-from-value-set",
            ProblemKind::TooDeep => "fhir.too-deep",
            ProblemKind::TooManyProblems => "fhir.too-many-problems",
        }
    }

    /// The OperationOutcome `issue.code` (R4 IssueType).
    pub fn issue_type(&self) -> &'static str {
        match self.kind {
            ProblemKind::Missing => "required",
            ProblemKind::CodeNotAllowed | ProblemKind::NoCodingFromValueSet => "code-invalid",
            ProblemKind::BadValue { .. } => "value",
            ProblemKind::TooDeep | ProblemKind::TooManyProblems => "too-costly",
            _ => "structure",
        }
    }

    /// What is wrong, in words, without the value.
    pub fn message(&self) -> String {
        match self.kind {
            ProblemKind::NotAResource => {
                "not a FHIR resource (a JSON object with resourceType)".into()
            }
            ProblemKind::UnknownResourceType => "resourceType names no FHIR R4 resource".into(),
            ProblemKind::UnknownElement => {
                "unknown element: R4 defines no such element here".into()
            }
            ProblemKind::WrongType { expected } => {
                format!("wrong type: this element takes {expected}")
            }
            ProblemKind::BadValue { ty } => format!("not a valid {ty}"),
            ProblemKind::Empty => {
                "empty value: R4 JSON has no empty strings, objects or arrays".into()
            }
            ProblemKind::ExpectedArray => "repeating element: R4 JSON writes it as an array".into(),
            ProblemKind::ExpectedSingle => {
                "single element (at most one value): not an array".into()
            }
            ProblemKind::SeveralChoices => "more than one type of this choice element".into(),
            ProblemKind::Missing => "required element missing".into(),
            ProblemKind::CodeNotAllowed => "code not in the required value set".into(),
            ProblemKind::NoCodingFromValueSet => "no coding from the required value set".into(),
            ProblemKind::TooDeep => "nested too deep; not checked further".into(),
            ProblemKind::TooManyProblems => "too many problems; the rest was not checked".into(),
        }
    }
}

/// The problems of `resource` as an R4 resource; empty when valid.
pub fn validate(resource: &Value) -> Vec<Problem> {
    validate_with(resource, Limits::default())
}

/// [`validate`] with explicit bounds.
pub fn validate_with(resource: &Value, limits: Limits) -> Vec<Problem> {
    let mut w = walk::Walk::new(limits);
    w.resource(resource, "", 0);
    w.problems
}

/// The problems as an OperationOutcome: one error issue per problem, with
/// its FHIR path as `expression` and its code in `details`.
pub fn operation_outcome(problems: &[Problem]) -> Value {
    let issues: Vec<Value> = problems
        .iter()
        .map(|p| {
            json!({
                "severity": "error",
                "code": p.issue_type(),
                "details": {"coding": [{"system": "urn:ehrgate:issue", "code": p.code()}]},
                "diagnostics": p.message(),
                "expression": [p.path],
            })
        })
        .collect();
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn kinds(v: &Value) -> Vec<(String, &'static str)> {
        validate(v)
            .into_iter()
            .map(|p| (p.path.clone(), p.code()))
            .collect()
    }

    fn obs() -> Value {
        json!({"resourceType": "Observation", "id": "hr1", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-01-05T10:00:00Z",
            "valueQuantity": {"value": 72, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"},
            "_status": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}})
    }

    #[test]
    fn a_valid_observation_has_no_problems() {
        assert_eq!(kinds(&obs()), []);
    }

    #[test]
    fn a_string_where_a_codeable_concept_belongs_is_named() {
        let mut o = obs();
        o["code"] = json!("heart rate");
        assert_eq!(kinds(&o), [("Observation.code".into(), "fhir.wrong-type")]);
        let p = &validate(&o)[0];
        assert!(!p.message().contains("heart rate"), "no values in messages");
    }

    #[test]
    fn unknown_elements_are_named() {
        let mut o = obs();
        o["fooBar"] = json!(1);
        o["code"]["coding"][0]["colour"] = json!("red");
        o["_code"] = json!({});
        assert_eq!(
            kinds(&o),
            [
                (
                    "Observation.code.coding[0].colour".into(),
                    "fhir.unknown-element"
                ),
                ("Observation.fooBar".into(), "fhir.unknown-element"),
                ("Observation._code".into(), "fhir.unknown-element"),
            ]
        );
    }

    #[test]
    fn cardinality_is_checked_both_ways() {
        let mut o = obs();
        o["category"] = o["category"][0].clone();
        o["code"] = json!([o["code"].clone()]);
        assert_eq!(
            kinds(&o),
            [
                ("Observation.category".into(), "fhir.expected-array"),
                ("Observation.code".into(), "fhir.expected-single"),
            ]
        );
    }

    #[test]
    fn required_elements_and_bindings_are_checked() {
        let mut o = obs();
        o.as_object_mut().unwrap().remove("status");
        o.as_object_mut().unwrap().remove("_status");
        assert_eq!(
            kinds(&o),
            [("Observation.status".into(), "fhir.required-missing")]
        );
        let mut o = obs();
        o["status"] = json!("draft");
        assert_eq!(
            kinds(&o),
            [("Observation.status".into(), "fhir.code-not-in-value-set")]
        );
        let c = json!({"resourceType": "Condition", "subject": {"reference": "Patient/1"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "sleeping"}]},
            "verificationStatus": {"text": "confirmed"}});
        assert_eq!(
            kinds(&c),
            [
                (
                    "Condition.clinicalStatus.coding[0].code".into(),
                    "fhir.code-not-in-value-set"
                ),
                (
                    "Condition.verificationStatus".into(),
                    "fhir.no-coding-from-value-set"
                ),
            ]
        );
        let ms = json!({"resourceType": "MedicationStatement", "status": "active", "subject": {"reference": "Patient/1"}});
        assert_eq!(
            kinds(&ms),
            [(
                "MedicationStatement.medication[x]".into(),
                "fhir.required-missing"
            )]
        );
    }

    #[test]
    fn primitives_choices_and_empties_are_checked() {
        let mut o = obs();
        o["effectiveDateTime"] = json!("2024-01-05T10:00:00");
        o["valueString"] = json!("72");
        o["valueQuantity"]["value"] = json!("72");
        o["note"] = json!([]);
        o["id"] = json!("a b");
        let got = kinds(&o);
        assert!(
            got.contains(&("Observation.effectiveDateTime".into(), "fhir.bad-value")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Observation.value[x]".into(), "fhir.several-choices")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Observation.valueQuantity.value".into(), "fhir.wrong-type")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Observation.note".into(), "fhir.empty")),
            "{got:?}"
        );
        assert!(
            got.contains(&("Observation.id".into(), "fhir.bad-value")),
            "{got:?}"
        );
    }

    #[test]
    fn contained_and_entry_resources_are_walked() {
        let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Observation", "code": {"text": "x"}},
             "request": {"method": "POST", "url": "Observation"}},
            {"resource": {"resourceType": "Quantity"}}]});
        assert_eq!(
            kinds(&b),
            [
                (
                    "Bundle.entry[0].resource.status".into(),
                    "fhir.required-missing"
                ),
                (
                    "Bundle.entry[1].resource".into(),
                    "fhir.unknown-resource-type"
                ),
            ]
        );
        assert_eq!(
            kinds(&json!({"status": "final"})),
            [(String::new(), "fhir.not-a-resource")]
        );
    }

    #[test]
    fn problems_are_bounded() {
        let mut o = obs();
        for i in 0..10 {
            o[format!("x{i}")] = json!(1);
        }
        let p = validate_with(
            &o,
            Limits {
                max_depth: 48,
                max_problems: 3,
            },
        );
        assert_eq!(p.len(), 4);
        assert_eq!(p[3].kind, ProblemKind::TooManyProblems);
        let mut deep = json!({"url": "http://e/x", "valueString": "v"});
        for _ in 0..60 {
            deep = json!({"url": "http://e/x", "extension": [deep]});
        }
        let mut o = obs();
        o["extension"] = json!([deep]);
        assert!(validate(&o).iter().any(|p| p.kind == ProblemKind::TooDeep));
    }

    #[test]
    fn the_outcome_names_each_path() {
        let mut o = obs();
        o["fooBar"] = json!(1);
        let oo = operation_outcome(&validate(&o));
        assert_eq!(oo["issue"][0]["expression"][0], "Observation.fooBar");
        assert_eq!(oo["issue"][0]["code"], "structure");
        assert_eq!(oo["issue"][0]["severity"], "error");
    }
}
