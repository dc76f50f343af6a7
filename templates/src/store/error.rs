//! Template store errors.

use std::path::PathBuf;

use crate::id::TemplateId;
use crate::opt::OptError;
use ehrgate_fault::{Classified, Fault};

/// Why a template could not be served.
///
/// `Clone` because one failed load is handed to every caller that waited on
/// it (the cache shares one error among concurrent waiters). Messages carry
/// template ids, paths and statuses, never composition content.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// The source does not know this template id.
    #[error("template {0} not found")]
    NotFound(TemplateId),
    /// A template file configured for us does not parse (our misconfiguration).
    #[error("template file {path} is invalid: {error}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// Why.
        error: OptError,
    },
    /// The backend sent an OPT that does not parse.
    #[error("backend sent an invalid template {id}: {error}")]
    InvalidUpstream {
        /// The requested id.
        id: TemplateId,
        /// Why.
        error: OptError,
    },
    /// A source served a template whose declared id differs from the one asked for.
    #[error("asked for template {requested}, source returned {declared}")]
    IdMismatch {
        /// The id asked for.
        requested: TemplateId,
        /// The id the document declares.
        declared: TemplateId,
    },
    /// Two files in a template directory declare one id with different content.
    #[error("template id {id} is declared by both {first} and {second} with different content")]
    DuplicateId {
        /// The id.
        id: TemplateId,
        /// One file.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// Reading a local file or directory failed.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The backend failed: connection error, timeout, 5xx, or nonsense.
    #[error("template backend failed: {0}")]
    Upstream(String),
    /// The backend refused the credentials it was sent (401/403): kept
    /// apart from other failures so the caller can say "authentication".
    #[error(
        "template backend `{source_name}` refused authentication ({status}, {scheme} credentials)"
    )]
    Unauthorized {
        /// The backend's name.
        source_name: String,
        /// 401 or 403.
        status: u16,
        /// The credentials' scheme (`none`, `basic`, `bearer`, `oauth2`).
        scheme: &'static str,
    },
}

impl Classified for TemplateError {
    fn fault(&self) -> Fault {
        match self {
            TemplateError::NotFound(_) => Fault::Client,
            TemplateError::InvalidUpstream { .. }
            | TemplateError::Upstream(_)
            | TemplateError::Unauthorized { .. } => Fault::Upstream,
            TemplateError::InvalidFile { .. }
            | TemplateError::IdMismatch { .. }
            | TemplateError::DuplicateId { .. }
            | TemplateError::Io { .. } => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            TemplateError::NotFound(_) => "template.not-found",
            TemplateError::InvalidFile { .. } => "template.invalid-file",
            TemplateError::InvalidUpstream { .. } => "template.invalid-upstream",
            TemplateError::IdMismatch { .. } => "template.id-mismatch",
            TemplateError::DuplicateId { .. } => "template.duplicate-id",
            TemplateError::Io { .. } => "template.io",
            TemplateError::Upstream(_) => "template.upstream",
            TemplateError::Unauthorized { .. } => "template.unauthorized",
        }
    }
}
