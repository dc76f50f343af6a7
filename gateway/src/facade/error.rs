//! What can go wrong in the facade, who is at fault, and how each error is
//! answered: HTTP status and OperationOutcome issues with a location (a
//! FHIRPath for the client's input, an openEHR path for template issues).
//!
//! The backend's reason (its error message) is passed back to the client
//! in `diagnostics`; it never goes to logs, which carry only the code.

use ehrgate_fault::{Classified, Fault};
use ehrgate_mappers::fhirconnect::check::Issue as TemplateIssue;
use http::StatusCode;

use crate::outcome::Issue;

/// A facade failure (`Clone` so one failed EHR lookup can answer every
/// request that waited on it).
#[derive(Debug, Clone, thiserror::Error)]
pub enum FacadeError {
    /// The body is not JSON.
    #[error("request body is not JSON: {reason} at line {line}, column {column}")]
    InvalidJson {
        /// serde_json's reason.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The body is JSON but not a FHIR resource.
    #[error("request body is not a FHIR resource (no resourceType)")]
    NotAResource,
    /// `resourceType` differs from the type in the URL.
    #[error("resourceType `{found}` does not match the URL's `{expected}`")]
    WrongType {
        /// The type in the URL.
        expected: String,
        /// The type in the body.
        found: String,
    },
    /// A resource type the facade does not serve.
    #[error("resource type `{0}` is not served by this openEHR facade")]
    UnsupportedType(String),
    /// An interaction the facade does not serve.
    #[error("{0} is not supported here")]
    UnsupportedInteraction(&'static str),
    /// The resource names no patient.
    #[error("the resource names no patient (`{element}` with a Patient reference or identifier)")]
    NoSubject {
        /// The element (`Observation.subject`).
        element: String,
    },
    /// The patient has no EHR and the backend is not configured to create one.
    #[error("the patient has no EHR and create_ehr is off")]
    UnknownPatient,
    /// No configured template's mapping takes the resource.
    #[error("no mapping of the templates for {resource_type} ({templates}) takes this resource")]
    NotMapped {
        /// The resource type.
        resource_type: String,
        /// The templates tried.
        templates: String,
    },
    /// The template's mapping cannot hold every element of the resource and
    /// the backend is configured to refuse partial records.
    #[error("template `{template}` cannot hold {} element(s) of this {resource_type}", items.len())]
    NotAllMapped {
        /// The resource type.
        resource_type: String,
        /// The template that took the rest.
        template: String,
        /// What it cannot hold (FHIR paths and reasons, no values).
        items: Vec<ehrgate_mappers::translation::Unmapped>,
    },
    /// The composition would break its template.
    #[error("the composition would violate template `{template}` ({} issues)", issues.len())]
    TemplateViolation {
        /// The template.
        template: String,
        /// What breaks it, with FHIR and openEHR paths.
        issues: Vec<TemplateIssue>,
    },
    /// The translation itself failed.
    #[error("translation failed: {reason}")]
    Translation {
        /// The engine's stable code.
        code: &'static str,
        /// Fault of the engine error.
        fault: Fault,
        /// The engine's message.
        reason: String,
    },
    /// The backend does not know the template.
    #[error("the backend does not know template `{0}`")]
    TemplateUnknown(String),
    /// An id this facade did not issue, or a resource that is gone.
    #[error("{resource_type}/{id} is not known")]
    NotFound {
        /// The type.
        resource_type: String,
        /// The id as requested (an id we issue, never patient data).
        id: String,
    },
    /// The resource was deleted.
    #[error("{resource_type}/{id} was deleted")]
    Gone {
        /// The type.
        resource_type: String,
        /// The id.
        id: String,
    },
    /// An update names another patient than the stored resource (openEHR
    /// cannot move a composition to another EHR).
    #[error("an update cannot move the resource to another patient")]
    SubjectChanged {
        /// The element (`Observation.subject`).
        element: String,
    },
    /// The body's id differs from the URL's.
    #[error("the resource id in the body differs from the URL's")]
    IdMismatch,
    /// A search parameter the facade cannot serve or parse.
    #[error("search parameter `{name}`: {reason}")]
    BadSearch {
        /// The parameter name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A search matching more than the configured scan bound.
    #[error("the search matches more than {0} compositions; narrow it (patient, date)")]
    TooCostly(u32),
    /// `If-Match` is not a version (`W/"3"`).
    #[error("If-Match must be a version, like W/\"3\"")]
    BadIfMatch,
    /// The request body is larger than the limit.
    #[error("request body exceeds {0} bytes")]
    BodyTooLarge(u64),
    /// The request body could not be read.
    #[error("reading the request body failed")]
    BodyRead,
    /// A transaction Bundle is malformed.
    #[error("transaction Bundle: {reason}")]
    BadBundle {
        /// What is wrong.
        reason: String,
        /// Where (`Bundle.entry[2].request`).
        at: String,
    },
    /// The backend answered an error status.
    #[error("openEHR backend answered {status}: {reason}")]
    Backend {
        /// The backend's status.
        status: u16,
        /// The backend's reason (its error message, bounded).
        reason: String,
    },
    /// The backend refused the gateway's credentials (401) or their role
    /// (403): a configuration problem between gateway and CDR, never the
    /// FHIR client's fault.
    #[error(
        "openEHR backend `{backend}` refused the gateway's authentication ({status}, {scheme} \
         credentials); check [backend.openehr.auth] and the CDR's users"
    )]
    BackendAuth {
        /// The backend's name (config).
        backend: String,
        /// 401 or 403.
        status: u16,
        /// The credentials' scheme (`none`, `basic`, `bearer`, `oauth2`).
        scheme: &'static str,
    },
    /// The gateway has no usable credentials for the backend (a secret
    /// that cannot be read, a token endpoint that fails).
    #[error("authentication to openEHR backend `{backend}` is not possible: {reason}")]
    CredentialsUnavailable {
        /// The backend's name (config).
        backend: String,
        /// Why (names sources and statuses, never secrets).
        reason: String,
    },
    /// The backend's template could not be fetched (not a 404) and no
    /// earlier copy is cached: translating against the bundled OPT instead
    /// could disagree with what the CDR validates against.
    #[error("template `{template}` could not be fetched from the backend: {reason}")]
    TemplateUnavailable {
        /// The template id.
        template: String,
        /// The store's reason.
        reason: String,
    },
    /// The backend could not be reached or timed out.
    #[error("openEHR backend unreachable: {0}")]
    Unreachable(&'static str),
    /// The backend answered something we cannot read.
    #[error("openEHR backend answered unexpectedly: {0}")]
    BadBackendAnswer(String),
    /// Our own problem (a shipped mapping that does not compile...).
    #[error("internal: {0}")]
    Internal(String),
}

// === impl FacadeError ===

impl Classified for FacadeError {
    fn fault(&self) -> Fault {
        use FacadeError::*;
        match self {
            InvalidJson { .. }
            | NotAResource
            | WrongType { .. }
            | UnsupportedType(_)
            | UnsupportedInteraction(_)
            | NoSubject { .. }
            | UnknownPatient
            | NotMapped { .. }
            | NotAllMapped { .. }
            | TemplateViolation { .. }
            | TemplateUnknown(_)
            | NotFound { .. }
            | Gone { .. }
            | SubjectChanged { .. }
            | IdMismatch
            | BadSearch { .. }
            | TooCostly(_)
            | BadIfMatch
            | BodyTooLarge(_)
            | BodyRead
            | BadBundle { .. } => Fault::Client,
            Translation { fault, .. } => *fault,
            Backend { status, .. } if *status < 500 => Fault::Client,
            Backend { .. }
            | BackendAuth { .. }
            | CredentialsUnavailable { .. }
            | TemplateUnavailable { .. }
            | Unreachable(_)
            | BadBackendAnswer(_) => Fault::Upstream,
            Internal(_) => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        use FacadeError::*;
        match self {
            InvalidJson { .. } => "facade.invalid-json",
            NotAResource => "facade.not-a-resource",
            WrongType { .. } => "facade.wrong-resource-type",
            UnsupportedType(_) => "facade.unsupported-type",
            UnsupportedInteraction(_) => "facade.unsupported-interaction",
            NoSubject { .. } => "facade.no-subject",
            UnknownPatient => "facade.unknown-patient",
            NotMapped { .. } => "facade.not-mapped",
            NotAllMapped { .. } => "facade.not-all-mapped",
            TemplateViolation { .. } => "facade.template-violation",
            Translation { code, .. } => code,
            TemplateUnknown(_) => "facade.template-unknown",
            NotFound { .. } => "facade.not-found",
            Gone { .. } => "facade.gone",
            SubjectChanged { .. } => "facade.subject-changed",
            IdMismatch => "facade.id-mismatch",
            BadSearch { .. } => "facade.bad-search",
            TooCostly(_) => "facade.too-costly",
            BadIfMatch => "facade.bad-if-match",
            BodyTooLarge(_) => "facade.body-too-large",
            BodyRead => "facade.body-read",
            BadBundle { .. } => "facade.bad-bundle",
            Backend { status, .. } => match status {
                404 => "openehr.not-found",
                409 => "openehr.conflict",
                412 => "openehr.version-mismatch",
                400 | 422 => "openehr.rejected",
                s if *s >= 500 => "openehr.server-error",
                _ => "openehr.error",
            },
            BackendAuth { .. } => "openehr.authentication",
            CredentialsUnavailable { .. } => "openehr.authentication-unavailable",
            TemplateUnavailable { .. } => "openehr.template-unavailable",
            Unreachable(_) => "openehr.unreachable",
            BadBackendAnswer(_) => "openehr.bad-answer",
            Internal(_) => "facade.internal",
        }
    }
}

impl FacadeError {
    /// The HTTP status the client gets.
    pub fn status(&self) -> StatusCode {
        use FacadeError::*;
        match self {
            InvalidJson { .. }
            | NotAResource
            | WrongType { .. }
            | BadSearch { .. }
            | BadIfMatch
            | BadBundle { .. }
            | BodyRead
            | TooCostly(_)
            | IdMismatch => StatusCode::BAD_REQUEST,
            Gone { .. } => StatusCode::GONE,
            UnsupportedType(_) | NotFound { .. } => StatusCode::NOT_FOUND,
            UnsupportedInteraction(_) => StatusCode::METHOD_NOT_ALLOWED,
            NoSubject { .. }
            | UnknownPatient
            | NotMapped { .. }
            | NotAllMapped { .. }
            | TemplateViolation { .. }
            | TemplateUnknown(_)
            | SubjectChanged { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Translation { fault, .. } => match fault {
                Fault::Client => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Backend { status, .. } => match status {
                404 | 410 => StatusCode::NOT_FOUND,
                409 => StatusCode::CONFLICT,
                412 => StatusCode::PRECONDITION_FAILED,
                400 | 422 => StatusCode::UNPROCESSABLE_ENTITY,
                503 => StatusCode::SERVICE_UNAVAILABLE,
                504 => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            },
            // The CDR refused us: a bad gateway, whoever asked.
            BackendAuth { .. } | TemplateUnavailable { .. } => StatusCode::BAD_GATEWAY,
            // No credentials to try with (IdP down, secret missing): the
            // service is unavailable until that is fixed.
            CredentialsUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Unreachable("timeout") => StatusCode::GATEWAY_TIMEOUT,
            Unreachable(_) | BadBackendAnswer(_) => StatusCode::BAD_GATEWAY,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OperationOutcome issues, each with its location.
    pub fn issues(&self) -> Vec<Issue> {
        use FacadeError::*;
        let base = Issue::from_error(self);
        match self {
            TemplateViolation { issues, .. } if !issues.is_empty() => issues
                .iter()
                .map(|i| {
                    let mut out = Issue {
                        severity: "error",
                        code: "invariant",
                        details: i.code,
                        diagnostics: format!("{} (openEHR path {})", i.message, i.openehr_path),
                        expression: Vec::new(),
                    };
                    if let Some(p) = &i.fhir_path {
                        out = out.at(p.clone());
                    }
                    out
                })
                .collect(),
            NotAllMapped { items, .. } if !items.is_empty() => items
                .iter()
                .map(|u| {
                    Issue {
                        severity: "error",
                        code: "not-supported",
                        details: "facade.not-all-mapped",
                        diagnostics: format!("the template cannot hold this element: {}", u.reason),
                        expression: Vec::new(),
                    }
                    .at(u.location.clone())
                })
                .collect(),
            InvalidJson { line, column, .. } => {
                vec![base
                    .with_code("structure")
                    .at(format!("line {line}, column {column}"))]
            }
            WrongType { .. } | NotAResource => vec![base.with_code("structure").at("resourceType")],
            NoSubject { element } => vec![base.with_code("required").at(element.clone())],
            NotFound { .. } | Gone { .. } => vec![base.with_code("not-found")],
            SubjectChanged { element } => vec![base.with_code("business-rule").at(element.clone())],
            IdMismatch => vec![base.at("id")],
            UnsupportedType(_) | UnsupportedInteraction(_) => vec![base.with_code("not-supported")],
            TooCostly(_) => vec![base.with_code("too-costly")],
            BadBundle { at, .. } => vec![base.at(at.clone())],
            BadIfMatch => vec![base.at("header:If-Match")],
            Backend { status, .. } => vec![match status {
                404 | 410 => base.with_code("not-found"),
                409 | 412 => base.with_code("conflict"),
                400 | 422 => base.with_code("processing"),
                _ => base,
            }],
            BackendAuth { .. } | CredentialsUnavailable { .. } => vec![base.with_code("security")],
            Unreachable("timeout") => vec![base.with_code("timeout")],
            _ => vec![base],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_statuses_map_to_fhir_statuses() {
        let b = |status| FacadeError::Backend {
            status,
            reason: "r".into(),
        };
        assert_eq!(b(422).status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b(400).status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b(404).status(), StatusCode::NOT_FOUND);
        assert_eq!(b(409).status(), StatusCode::CONFLICT);
        assert_eq!(b(412).status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(b(500).status(), StatusCode::BAD_GATEWAY);
        assert_eq!(b(500).fault(), Fault::Upstream);
        assert_eq!(b(409).code(), "openehr.conflict");
        assert_eq!(b(409).issues()[0].code, "conflict");
    }

    #[test]
    fn authentication_refusals_name_the_backend() {
        let e = FacadeError::BackendAuth {
            backend: "cdr".into(),
            status: 401,
            scheme: "none",
        };
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(e.fault(), Fault::Upstream);
        assert_eq!(e.code(), "openehr.authentication");
        let i = &e.issues()[0];
        assert_eq!(i.code, "security");
        assert!(
            i.diagnostics.contains("`cdr`") && i.diagnostics.contains("authentication"),
            "{}",
            i.diagnostics
        );
        let u = FacadeError::CredentialsUnavailable {
            backend: "cdr".into(),
            reason: "token endpoint timed out".into(),
        };
        assert_eq!(u.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(u.to_string().contains("authentication"));
    }

    #[test]
    fn template_issues_keep_both_paths() {
        let e = FacadeError::TemplateViolation {
            template: "t".into(),
            issues: vec![TemplateIssue {
                code: "template.unit-not-allowed",
                openehr_path: "/content[x]/value".into(),
                fhir_path: Some("Observation.valueQuantity".into()),
                message: "unit not allowed".into(),
            }],
        };
        let i = e.issues();
        assert_eq!(i[0].expression, ["Observation.valueQuantity"]);
        assert!(i[0].diagnostics.contains("/content[x]/value"));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
