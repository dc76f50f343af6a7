//! The [`Translator`] seam for FHIR <-> openEHR: one type per direction over
//! a compiled [`Engine`] (which holds the template index, looked up before
//! the call).
//!
//! FHIR -> openEHR checks the composition against the template before it
//! leaves: a composition with violations is an error carrying the issues
//! (each naming the FHIR and openEHR paths), never an output.

use serde_json::{Map, Value};

use super::canonical::{from_canonical_with, to_canonical, CanonicalDefaults};
use super::check::{check, operation_outcome, Issue};
use super::engine::{Engine, EngineError};
use super::flat::{from_flat, to_flat};
use super::patient_ref::{self, PatientRefError};
use crate::error::{Classified, Fault};
use crate::translation::{Translation, Translator};

/// openEHR serialisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenEhrFormat {
    /// Canonical JSON (`_type`, `archetype_node_id`...).
    Canonical,
    /// FLAT (simSDT) JSON.
    Flat,
}

/// Why a FHIR <-> openEHR translation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TranslateError {
    /// The engine could not run.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The mapping set was compiled without the template this needs.
    #[error("no template metadata for this mapping set")]
    NoTemplate,
    /// The produced composition breaks the template.
    #[error("composition violates the template ({} issues)", .0.len())]
    Template(Vec<Issue>),
    /// The openEHR input is neither canonical JSON nor FLAT.
    #[error("input is not an openEHR composition (canonical or FLAT JSON)")]
    NotAComposition,
    /// The caller's patient reference is not a FHIR reference.
    #[error(transparent)]
    PatientRef(#[from] PatientRefError),
}

impl TranslateError {
    /// The error as an OperationOutcome (template issues name both paths).
    pub fn operation_outcome(&self) -> Value {
        match self {
            TranslateError::Template(issues) => operation_outcome(issues),
            other => serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "processing",
                           "details": {"coding": [{"system": "urn:ehrgate:issue", "code": other.code()}]},
                           "diagnostics": other.to_string()}]
            }),
        }
    }
}

impl Classified for TranslateError {
    fn fault(&self) -> Fault {
        match self {
            TranslateError::Engine(e) => e.fault(),
            TranslateError::NoTemplate => Fault::Internal,
            TranslateError::Template(_)
            | TranslateError::NotAComposition
            | TranslateError::PatientRef(_) => Fault::Client,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            TranslateError::Engine(e) => e.code(),
            TranslateError::NoTemplate => "fhirconnect.no-template",
            TranslateError::Template(_) => "fhirconnect.template-violation",
            TranslateError::NotAComposition => "fhirconnect.not-a-composition",
            TranslateError::PatientRef(_) => "fhirconnect.bad-patient-reference",
        }
    }
}

/// FHIR resource (or Bundle) -> composition.
#[derive(Debug)]
pub struct FhirToOpenEhr<'e> {
    /// The compiled mapping set with its template.
    pub engine: &'e Engine,
    /// Output serialisation.
    pub format: OpenEhrFormat,
    /// RM attributes filled when the mapping leaves them empty.
    pub defaults: CanonicalDefaults,
}

impl Translator for FhirToOpenEhr<'_> {
    type Input<'a> = &'a Value;
    type Output = Value;
    type Error = TranslateError;

    fn translate(&self, input: &Value) -> Result<Translation<Value>, TranslateError> {
        self.translate_in(input, None)
    }
}

impl FhirToOpenEhr<'_> {
    /// [`Translator::translate`] for a resource taken from an entry of
    /// `bundle`, whose references to other entries resolve to them
    /// ([`Engine::fhir_to_instance_in`]).
    pub fn translate_in(
        &self,
        input: &Value,
        bundle: Option<&Value>,
    ) -> Result<Translation<Value>, TranslateError> {
        let index = self.engine.index().ok_or(TranslateError::NoTemplate)?;
        let t = self.engine.fhir_to_instance_in(input, bundle)?;
        let issues = check(&t.output, index);
        if !issues.is_empty() {
            return Err(TranslateError::Template(issues));
        }
        let output = match self.format {
            OpenEhrFormat::Canonical => to_canonical(&t.output, index, &self.defaults),
            OpenEhrFormat::Flat => Value::Object(to_flat(&t.output, index)),
        };
        Ok(Translation {
            output,
            unmapped: t.unmapped,
            warnings: t.warnings,
        })
    }
}

impl FhirToOpenEhr<'_> {
    /// [`Translator::translate`] with the exact report of
    /// [`super::fidelity::translate`]: `unmapped` names every element of
    /// the input a read of the composition does not give back equal (and
    /// status-like ones with [`super::fidelity::STATUS_LIKE_REASON`]);
    /// `warnings` add what a read gives back that was not sent. It costs
    /// one more reverse translation: for writes, where the client is told.
    pub fn translate_exact(&self, input: &Value) -> Result<Translation<Value>, TranslateError> {
        let index = self.engine.index().ok_or(TranslateError::NoTemplate)?;
        let t = super::fidelity::translate_stored_as(self.engine, input, self.format)?.translation;
        let issues = check(&t.output, index);
        if !issues.is_empty() {
            return Err(TranslateError::Template(issues));
        }
        let output = match self.format {
            OpenEhrFormat::Canonical => to_canonical(&t.output, index, &self.defaults),
            OpenEhrFormat::Flat => Value::Object(to_flat(&t.output, index)),
        };
        Ok(Translation {
            output,
            unmapped: t.unmapped,
            warnings: t.warnings,
        })
    }
}

/// Composition (canonical JSON or FLAT, detected) -> FHIR.
#[derive(Debug)]
pub struct OpenEhrToFhir<'e> {
    /// The compiled mapping set with its template.
    pub engine: &'e Engine,
    /// The patient the composition's EHR belongs to, as a FHIR reference
    /// (`Patient/123`): a composition does not carry it, and FHIR requires
    /// it (`subject`, or `patient` for AllergyIntolerance). `None` leaves
    /// it out (offline translation with no EHR known).
    pub subject: Option<&'e str>,
}

impl<'e> OpenEhrToFhir<'e> {
    /// A translator over `engine` with no patient reference.
    pub fn new(engine: &'e Engine) -> Self {
        OpenEhrToFhir {
            engine,
            subject: None,
        }
    }

    /// The same translator filling in `reference` as the patient.
    pub fn with_subject(self, reference: &'e str) -> Self {
        OpenEhrToFhir {
            subject: Some(reference),
            ..self
        }
    }
}

/// Tells canonical JSON from FLAT: canonical has `_type`/`archetype_node_id`
/// at the root, FLAT has path keys.
pub fn detect(input: &Value) -> Option<OpenEhrFormat> {
    let o = input.as_object()?;
    if o.contains_key("_type") || o.contains_key("archetype_node_id") {
        Some(OpenEhrFormat::Canonical)
    } else if !o.is_empty() && o.keys().all(|k| k.contains('/')) {
        Some(OpenEhrFormat::Flat)
    } else {
        None
    }
}

impl Translator for OpenEhrToFhir<'_> {
    type Input<'a> = &'a Value;
    type Output = Value;
    type Error = TranslateError;

    fn translate(&self, input: &Value) -> Result<Translation<Value>, TranslateError> {
        if let Some(reference) = self.subject {
            patient_ref::validate(reference)?;
        }
        let (inst, mut unmapped) = match detect(input) {
            Some(OpenEhrFormat::Canonical) => from_canonical_with(input, self.engine.names()),
            Some(OpenEhrFormat::Flat) => {
                let index = self.engine.index().ok_or(TranslateError::NoTemplate)?;
                let empty = Map::new();
                from_flat(input.as_object().unwrap_or(&empty), index)
            }
            None => return Err(TranslateError::NotAComposition),
        };
        let mut t = self.engine.instance_to_fhir(&inst)?;
        if let Some(reference) = self.subject {
            patient_ref::apply(&mut t.output, reference);
        }
        unmapped.extend(t.unmapped);
        Ok(Translation {
            output: t.output,
            unmapped,
            warnings: t.warnings,
        })
    }
}
