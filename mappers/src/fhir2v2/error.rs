//! Errors of the FHIR -> v2 translation: input that cannot make the asked
//! message at all. Partial problems are warnings or unmapped items.

use crate::error::{Classified, Fault};

/// Why no message could be written. Locations are FHIR paths
/// (`Bundle.entry[2].resource.code`), never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirV2Error {
    /// The input is not a FHIR resource or Bundle.
    #[error("{location}: {reason}")]
    NotFhir {
        /// Where (`$`, `Bundle.entry[3]`, `line 2`).
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An element a segment requires is absent.
    #[error("{path}: required for {field} ({message}), but absent")]
    MissingElement {
        /// The FHIR path (`Observation.code`).
        path: String,
        /// The v2 field it fills (`OBX-3`).
        field: &'static str,
        /// The message type being written.
        message: String,
    },
    /// No resource of a kind the message needs.
    #[error("{message} needs a resource of type {resource}, and the input has none")]
    MissingResource {
        /// The message type.
        message: String,
        /// The resource type it needs.
        resource: &'static str,
    },
    /// Nothing in the input says which message to write.
    #[error("no v2 message is made from {0}; name one with the message option")]
    NoMessage(String),
    /// The asked message type is not one the writer makes.
    #[error("message type {0} is not written (supported: {SUPPORTED_TEXT})")]
    Unsupported(String),
    /// A value is longer than the version allows and the policy refuses.
    #[error(
        "{field}{}: {length} characters, v{version} allows {limit} (length policy: refuse)",
        source_text(.from)
    )]
    TooLong {
        /// `OBX-7`.
        field: String,
        /// The FHIR path it came from, when known.
        from: Option<String>,
        /// Its length.
        length: usize,
        /// The limit.
        limit: usize,
        /// The version.
        version: &'static str,
    },
    /// Text has no encoding in the configured charset.
    #[error("{field}: text not representable in the message charset {charset}")]
    Unrepresentable {
        /// `PID-5`.
        field: String,
        /// The MSH-18 name.
        charset: &'static str,
    },
    /// A setting is invalid.
    #[error("invalid FHIR -> v2 configuration: {0}")]
    Config(String),
}

const SUPPORTED_TEXT: &str = "ORU^R01, ADT^A04, ADT^A08, ADT^A03, ADT^A31, ADT^A60, VXU^V04, \
                              ORM^O01, OML^O21, PPR^PC1";

fn source_text(s: &Option<String>) -> String {
    s.as_ref()
        .map(|p| format!(" (from {p})"))
        .unwrap_or_default()
}

impl Classified for FhirV2Error {
    fn fault(&self) -> Fault {
        match self {
            FhirV2Error::Config(_) => Fault::Internal,
            _ => Fault::Client,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            FhirV2Error::NotFhir { .. } => "fhir2v2.not-fhir",
            FhirV2Error::MissingElement { .. } => "fhir2v2.missing-element",
            FhirV2Error::MissingResource { .. } => "fhir2v2.missing-resource",
            FhirV2Error::NoMessage(_) => "fhir2v2.no-message",
            FhirV2Error::Unsupported(_) => "fhir2v2.unsupported-message",
            FhirV2Error::TooLong { .. } => "fhir2v2.too-long",
            FhirV2Error::Unrepresentable { .. } => "fhir2v2.unrepresentable",
            FhirV2Error::Config(_) => "fhir2v2.config",
        }
    }
}
