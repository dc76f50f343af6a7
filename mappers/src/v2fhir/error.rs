//! Errors of the v2 -> FHIR translation.

use crate::error::{Classified, Fault};

/// A message that cannot be translated at all (partial problems are
/// warnings or unmapped items, not errors).
#[derive(Debug, thiserror::Error)]
pub enum V2FhirError {
    /// A required segment is missing (`PID` in an ADT message).
    #[error("message {message}: required segment {segment} is missing")]
    MissingSegment {
        /// The message type (`ADT^A01`).
        message: String,
        /// The missing segment.
        segment: &'static str,
    },
    /// A required field is empty.
    #[error("{location}: required field is empty ({reason})")]
    MissingField {
        /// `MSH-9`, `PID-3`...
        location: String,
        /// What it is needed for.
        reason: &'static str,
    },
    /// The message type is not one this translator handles.
    #[error("message type {0} is not supported")]
    Unsupported(String),
    /// A configuration file or setting is invalid.
    #[error("invalid v2 -> FHIR configuration: {0}")]
    Config(String),
}

impl Classified for V2FhirError {
    fn fault(&self) -> Fault {
        match self {
            V2FhirError::Config(_) => Fault::Internal,
            _ => Fault::Client,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            V2FhirError::MissingSegment { .. } => "v2fhir.missing-segment",
            V2FhirError::MissingField { .. } => "v2fhir.missing-field",
            V2FhirError::Unsupported(_) => "v2fhir.unsupported-message",
            V2FhirError::Config(_) => "v2fhir.config",
        }
    }
}
