//! Who is at fault when something goes wrong: the bottom crate of the
//! workspace, with no dependencies, so every crate (templates, mappers,
//! the gateway, conformance) reaches it without depending on another's
//! concern. Every error in ehrgate carries a [`Fault`] so the gateway
//! can map it once to an HTTP status, a FHIR `OperationOutcome` or an HL7
//! acknowledgement code without knowing which library produced it (the idea
//! of pingora-error's `ErrorSource`).

#![forbid(unsafe_code)]

use std::fmt;

/// The party responsible for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The input sent to us was wrong: a bad message, an unknown code, a
    /// request that breaks a limit. Maps to 4xx / HL7 `AE`.
    Client,
    /// A backend we called failed or answered nonsense. Maps to 502/503/504
    /// / HL7 `AR`, and the sender may retry.
    Upstream,
    /// Our own bug or misconfiguration. Maps to 500 / HL7 `AR`.
    Internal,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Client => "client",
            Fault::Upstream => "upstream",
            Fault::Internal => "internal",
        })
    }
}

/// Implemented by every error type of the workspace.
///
/// `code` is a stable, machine-readable identifier (`hl7v2.no-msh`,
/// `template.not-found`) that appears in `OperationOutcome.issue.details`
/// and in metrics; it never contains patient data.
pub trait Classified {
    /// Who is at fault.
    fn fault(&self) -> Fault;
    /// A stable identifier for this kind of error.
    fn code(&self) -> &'static str;
}
