//! Refusals of the openEHR backend, answered as EHRbase answers them:
//! the HTTP status plus `{"error": <reason phrase>, "message": ...}`.
//! A stable `code` field is added (EHRbase has none) so tests and the
//! facade can tell refusals apart without parsing messages.

use ehrgate_fault::{Classified, Fault};
use http::StatusCode;
use serde_json::json;

use crate::reference::http::{self as h, Resp};

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OpenEhrError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable code (`composition.template-violation`, `aql.unsupported`).
    pub code: &'static str,
    /// What is wrong: paths and names, never clinical values.
    pub message: String,
}

// === impl OpenEhrError ===

impl OpenEhrError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OpenEhrError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 422.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// The EHRbase-shaped JSON response.
    pub fn response(&self) -> Resp {
        h::json(
            self.status,
            &json!({
                "error": self.status.canonical_reason().unwrap_or("Error"),
                "message": self.message,
                "code": self.code,
            }),
        )
    }
}

impl Classified for OpenEhrError {
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
