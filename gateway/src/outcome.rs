//! FHIR R4 `OperationOutcome` bodies built from any [`Classified`] error.
//!
//! Every HTTP error the gateway produces itself (no tenant, no route, backend
//! down, body too large) goes through here so clients see one shape: an
//! `OperationOutcome` with one issue whose `details.coding.code` is the
//! error's stable code and whose `diagnostics` is its message. The message
//! must never contain patient data; error types are written with that in mind.

use bytes::Bytes;
use ehrgate_templates::fault::{Classified, Fault};
use http::StatusCode;
use serde_json::{json, Value};

/// The content type of every body built here.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The code system under which our stable error codes are published.
pub const CODE_SYSTEM: &str = "urn:ehrgate:error";

/// One `OperationOutcome.issue`, before serialisation.
#[derive(Debug, Clone)]
pub struct Issue {
    /// `fatal` | `error` | `warning` | `information`.
    pub severity: &'static str,
    /// A code from the FHIR `IssueType` value set (`invalid`, `forbidden`,
    /// `transient`, `timeout`, `exception`, `not-found`, `too-costly` ...).
    pub code: &'static str,
    /// Our stable machine-readable code, e.g. `tenant.unknown`.
    pub details: &'static str,
    /// Human-readable explanation.
    pub diagnostics: String,
    /// FHIRPath-ish locations of the problem (`Bundle.entry[0]`, `header:X-Tenant-ID`).
    pub expression: Vec<String>,
}

// === impl Issue ===

impl Issue {
    /// An issue for a classified error, with the FHIR issue type picked from
    /// its fault unless the caller knows better.
    pub fn from_error<E: Classified + std::fmt::Display + ?Sized>(err: &E) -> Self {
        let code = match err.fault() {
            Fault::Client => "invalid",
            Fault::Upstream => "transient",
            Fault::Internal => "exception",
        };
        Issue {
            severity: "error",
            code,
            details: err.code(),
            diagnostics: err.to_string(),
            expression: Vec::new(),
        }
    }

    /// Replaces the FHIR issue type (e.g. `forbidden`, `timeout`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Adds a location.
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression.push(expression.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity,
            "code": self.code,
            "details": { "coding": [ { "system": CODE_SYSTEM, "code": self.details } ] },
            "diagnostics": self.diagnostics,
        });
        if !self.expression.is_empty() {
            issue["expression"] = json!(self.expression);
        }
        issue
    }
}

/// Serialises issues as an `OperationOutcome` JSON body.
pub fn operation_outcome(issues: &[Issue]) -> Bytes {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(Issue::to_json).collect::<Vec<_>>(),
    });
    Bytes::from(body.to_string())
}

/// The default HTTP status for a fault, used when the error does not say better.
pub fn status_for(fault: Fault) -> StatusCode {
    match fault {
        Fault::Client => StatusCode::BAD_REQUEST,
        Fault::Upstream => StatusCode::BAD_GATEWAY,
        Fault::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no tenant in the request")]
    struct NoTenant;

    impl Classified for NoTenant {
        fn fault(&self) -> Fault {
            Fault::Client
        }
        fn code(&self) -> &'static str {
            "tenant.missing"
        }
    }

    #[test]
    fn outcome_has_code_details_and_expression() {
        let issue = Issue::from_error(&NoTenant).at("header:X-Tenant-ID");
        let body = operation_outcome(&[issue]);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome");
        assert_eq!(v["issue"][0]["severity"], "error");
        assert_eq!(v["issue"][0]["code"], "invalid");
        assert_eq!(
            v["issue"][0]["details"]["coding"][0]["code"],
            "tenant.missing"
        );
        assert_eq!(v["issue"][0]["diagnostics"], "no tenant in the request");
        assert_eq!(v["issue"][0]["expression"][0], "header:X-Tenant-ID");
        assert_eq!(status_for(NoTenant.fault()), StatusCode::BAD_REQUEST);
    }
}
