//! Translation settings, loaded before the call (the translator does no I/O).

use std::collections::HashMap;

use serde::Deserialize;

use super::dtm;
use super::error::V2FhirError;

/// The Bundle type to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundleType {
    /// `transaction`: every entry has a `request` (conditional update on a
    /// business identifier, or PUT to a deterministic id), ready to POST.
    #[default]
    Transaction,
    /// `message`: MessageHeader first, no requests.
    Message,
    /// `collection`: no requests.
    Collection,
}

impl BundleType {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            BundleType::Transaction => "transaction",
            BundleType::Message => "message",
            BundleType::Collection => "collection",
        }
    }
}

/// Settings of the v2 -> FHIR translator.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Bundle type.
    pub bundle_type: BundleType,
    /// Zone (`Z` or `+hh:mm`) applied to v2 times that carry none. `None`
    /// (the default) keeps only the date part of such values and warns,
    /// because guessing a zone would silently shift clinical times.
    pub default_timezone: Option<String>,
    /// Prefix for identifier systems built from a local assigning authority
    /// namespace (HD-1 without a universal id); the namespace is appended,
    /// percent-encoded. Sites override it with their own URI.
    pub local_system_base: String,
    /// Explicit system URIs for local namespaces (HD-1 or CWE-3 names).
    pub systems: HashMap<String, String>,
    /// Z-segment mappings, loaded at run time.
    pub zmap: ZMap,
    /// Also make a ServiceRequest from a VXU's ORC. The IG's VXU_V04 map
    /// makes it "only if the system wants to know about the order that
    /// lead to the immunization event", and R4 Immunization cannot point
    /// to it; off by default, so immunization feeds into stores that hold
    /// immunizations only (an openEHR CDR) are not refused for it.
    pub vxu_order_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bundle_type: BundleType::Transaction,
            default_timezone: None,
            local_system_base: "urn:ehrgate:v2:local:".to_owned(),
            systems: HashMap::new(),
            zmap: ZMap::default(),
            vxu_order_requests: false,
        }
    }
}

impl Config {
    /// Checks the settings that could otherwise produce invalid FHIR.
    pub fn validate(&self) -> Result<(), V2FhirError> {
        if let Some(z) = &self.default_timezone {
            if !dtm::valid_zone(z) {
                return Err(V2FhirError::Config(format!(
                    "default timezone must be Z or +hh:mm, got {z:?}"
                )));
            }
        }
        for (name, seg) in &self.zmap.segments {
            if !name.starts_with('Z') || name.len() != 3 {
                return Err(V2FhirError::Config(format!(
                    "zmap key {name:?} is not a Z-segment name"
                )));
            }
            for f in &seg.fields {
                if f.field == 0 || (f.extension.is_none() == f.identifier_system.is_none()) {
                    return Err(V2FhirError::Config(format!(
                        "zmap {name}: each field rule needs field >= 1 and exactly one of extension / identifier_system"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Z-segment mappings: which fields of which Z-segment become extensions or
/// identifiers of which resource. JSON, for example:
///
/// ```json
/// { "segments": { "ZPI": { "target": "Patient", "fields": [
///     { "field": 2, "extension": "http://example.org/fhir/StructureDefinition/pet-name" },
///     { "field": 3, "identifier_system": "http://example.org/fhir/sid/legacy-id" },
///     { "field": 4, "extension": "http://example.org/ext/vip", "type": "code" } ] } } }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZMap {
    /// Rules per Z-segment name.
    #[serde(default)]
    pub segments: HashMap<String, ZSegment>,
}

impl ZMap {
    /// Parses a Z-segment map from JSON text.
    pub fn from_json(text: &str) -> Result<Self, V2FhirError> {
        serde_json::from_str(text).map_err(|e| V2FhirError::Config(format!("zmap: {e}")))
    }
}

/// The rules for one Z-segment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZSegment {
    /// The resource the fields are added to.
    pub target: ZTarget,
    /// One rule per field.
    pub fields: Vec<ZField>,
}

/// Resources a Z-segment can extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ZTarget {
    /// The message's Patient.
    Patient,
    /// The message's Encounter.
    Encounter,
}

/// One Z-segment field rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZField {
    /// The field sequence number (1-based).
    pub field: usize,
    /// Extension URL: the field becomes an extension of this URL.
    #[serde(default)]
    pub extension: Option<String>,
    /// Identifier system: the field (CX or plain text) becomes an identifier.
    #[serde(default)]
    pub identifier_system: Option<String>,
    /// Extension value type: `string` (default), `code`, `dateTime`, `CodeableConcept`.
    #[serde(default, rename = "type")]
    pub value_type: ZValueType,
}

/// Extension value types for Z-segment fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ZValueType {
    /// `valueString` from the field text.
    #[default]
    #[serde(rename = "string")]
    String,
    /// `valueCode` from component 1.
    #[serde(rename = "code")]
    Code,
    /// `valueDateTime` from a DTM.
    #[serde(rename = "dateTime")]
    DateTime,
    /// `valueCodeableConcept` from a CWE.
    #[serde(rename = "CodeableConcept")]
    CodeableConcept,
}
