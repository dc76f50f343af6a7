//! Refusals of the FHIR backend as OperationOutcomes with the right status.

use ehrgate_fault::{Classified, Fault};
use http::StatusCode;
use serde_json::{json, Value};

use crate::reference::http::{self as h, Resp};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FhirError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable code (`fhir.schema`, `fhir.version-conflict`).
    pub code: &'static str,
    /// The OperationOutcome issue type (`invalid`, `not-found`, `conflict`...).
    pub issue: &'static str,
    /// What is wrong: locations, never values.
    pub message: String,
    /// Schema errors or other details, one issue each.
    pub details: Vec<String>,
}

// === impl FhirError ===

impl FhirError {
    /// An error.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        issue: &'static str,
        message: impl Into<String>,
    ) -> Self {
        FhirError {
            status,
            code,
            issue,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// 400 `invalid`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "invalid", message)
    }

    /// 404 `not-found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "fhir.not-found",
            "not-found",
            message,
        )
    }

    /// The OperationOutcome.
    pub fn outcome(&self) -> Value {
        let mut issues = vec![json!({
            "severity": "error",
            "code": self.issue,
            "details": {"coding": [{"system": "urn:ehrgate:issue", "code": self.code}]},
            "diagnostics": self.message,
        })];
        issues.extend(
            self.details
                .iter()
                .map(|d| json!({"severity": "error", "code": self.issue, "diagnostics": d})),
        );
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }

    /// The response.
    pub fn response(&self) -> Resp {
        h::respond(
            self.status,
            "application/fhir+json",
            self.outcome().to_string(),
        )
    }
}

impl Classified for FhirError {
    fn fault(&self) -> Fault {
        if self.status.is_server_error() {
            Fault::Internal
        } else {
            Fault::Client
        }
    }

    fn code(&self) -> &'static str {
        self.code
    }
}
