//! Admin API errors: each has an HTTP status, a stable code and a message
//! for the release manager, answered as `{"error": {"code", "message"}}`.

use ehrgate_templates::fault::{Classified, Fault};
use http::StatusCode;

/// Why an admin request was refused. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No token, or one that matches no configured token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The token may only read.
    #[error("token `{0}` may only read; this call changes state")]
    Forbidden(String),
    /// Unknown route, tenant, flag, revision or path.
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The request names a revision that is no longer current.
    #[error("stale revision: expected {expected}, current is {current}; re-read and retry")]
    Conflict {
        /// What the caller expected.
        expected: u64,
        /// What is current.
        current: u64,
    },
    /// The change is not valid (weight out of range, no canary ...).
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The body is not the JSON the call expects.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is larger than `admin.max_body`.
    #[error("request body larger than {0} bytes")]
    TooLarge(u64),
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Persisting or applying failed; the old state stays in force.
    #[error("{message}")]
    Internal {
        /// Stable code.
        code: &'static str,
        /// What failed.
        message: String,
    },
}

// === impl AdminError ===

impl AdminError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::Forbidden(_) => StatusCode::FORBIDDEN,
            AdminError::NotFound { .. } => StatusCode::NOT_FOUND,
            AdminError::Conflict { .. } => StatusCode::CONFLICT,
            AdminError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AdminError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code(), "message": self.to_string()}})
    }

    /// A not-found error.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// An invalid-change error.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::Invalid {
            code,
            message: message.into(),
        }
    }
}

impl Classified for AdminError {
    fn fault(&self) -> Fault {
        match self {
            AdminError::Internal { .. } => Fault::Internal,
            _ => Fault::Client,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AdminError::Unauthorized => "admin.unauthorized",
            AdminError::Forbidden(_) => "admin.forbidden",
            AdminError::NotFound { code, .. }
            | AdminError::Invalid { code, .. }
            | AdminError::Internal { code, .. } => code,
            AdminError::Conflict { .. } => "admin.stale-revision",
            AdminError::BadRequest(_) => "admin.bad-request",
            AdminError::TooLarge(_) => "admin.too-large",
            AdminError::MethodNotAllowed => "admin.method-not-allowed",
        }
    }
}
