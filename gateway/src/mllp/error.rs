//! Why a feed message was not delivered, and what the sender is told.
//!
//! The fault decides the acknowledgement once, here: a client fault (the
//! message is wrong) is `AE`/`CE`, so the sender does not resend it
//! unchanged; an upstream or internal fault (destination down or refusing,
//! our configuration) is `AR`/`CR`, so the sender keeps the message and
//! resends. Messages carry locations and codes, never field values.

use ehrgate_mappers::hl7v2::{ErrorCode, MllpError, ParseError};
use ehrgate_mappers::v2fhir::V2FhirError;
use ehrgate_templates::fault::{Classified, Fault};

/// One message's failure.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The payload is not an HL7 v2 message.
    #[error("message does not parse: {0}")]
    Unparsed(#[from] ParseError),
    /// The frame was larger than `mllp.max_frame_bytes`.
    #[error("message larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// A required MSH field is empty.
    #[error("{0} is required")]
    MissingHeader(&'static str),
    /// No `[[mllp_facility]]` row matches MSH-4/MSH-6.
    #[error("sending/receiving facility is not in the facility table")]
    UnknownFacility,
    /// No `[[mllp_route]]` matches the message type and tenant.
    #[error("no route for this message type and tenant")]
    NoRoute,
    /// The v2 -> FHIR translation failed.
    #[error("cannot translate: {0}")]
    Translate(#[from] V2FhirError),
    /// The openEHR backend (through the FHIR facade) did not store the
    /// message; the facade's fault is kept, except that a backend's refusal
    /// counts as the destination's (AR).
    #[error("openEHR backend `{backend}`: {source}")]
    OpenEhr {
        /// Backend name.
        backend: String,
        /// The facade's error.
        source: Box<crate::facade::FacadeError>,
    },
    /// The destination could not be reached (connect, reset, timeout).
    #[error("destination `{backend}` unreachable: {reason}")]
    Unreachable {
        /// Backend name.
        backend: String,
        /// What happened (no payload).
        reason: &'static str,
    },
    /// Reconnects to the destination are backing off after failures.
    #[error("destination `{backend}` is backing off after connect failures")]
    BackingOff {
        /// Backend name.
        backend: String,
    },
    /// The destination refused the message (HTTP status or MSA-1).
    #[error("destination `{backend}` refused the message ({answer})")]
    Refused {
        /// Backend name.
        backend: String,
        /// `HTTP 503`, `MSA-1 AR`...
        answer: String,
    },
    /// The MLLP destination found an error in the message (MSA-1 AE/CE).
    #[error("destination `{backend}` reported an application error ({answer})")]
    DestinationError {
        /// Backend name.
        backend: String,
        /// `MSA-1 AE`.
        answer: String,
    },
    /// The destination answered something that is not an acknowledgement.
    #[error("destination `{backend}` answered garbage")]
    BadAnswer {
        /// Backend name.
        backend: String,
    },
    /// The message could not be framed for the destination.
    #[error("cannot frame for the destination: {0}")]
    Framing(#[from] MllpError),
    /// `mllp.max_bad_frames` frames in a row did not parse or were too
    /// large: this one is NACKed and the connection closed (a sender that
    /// sends only garbage is not worth a file handle).
    #[error("{n} consecutive frames were not HL7 v2 messages; closing the connection")]
    TooManyBadFrames {
        /// The limit.
        n: u32,
    },
    /// The same message (sender and MSH-10) is being delivered on another
    /// connection right now.
    #[error("the same control id is being delivered on another connection")]
    InFlight,
    /// The route names a backend the running gateway does not know.
    #[error("backend `{0}` is not configured")]
    NoBackend(String),
    /// The durable queue did not take the message (full, disk failure).
    #[error(transparent)]
    Queue(#[from] super::queue::QueueError),
    /// A clinical resource the openEHR backend has no template for: the
    /// message is refused whole rather than stored without that part. A
    /// client fault (`AE`/`CE`), not `AR`: the message is valid, but its
    /// content is what cannot be processed (HL7 v2 ch. 2 keeps `AR` for
    /// reasons unrelated to content or format, which the sender may resend
    /// automatically); resending it unchanged cannot succeed until the
    /// backend gets a template, and an automatic resend would hold up the
    /// sender's feed behind it. Under a route's `openehr_unstorable =
    /// "warn"` only when nothing clinical is left to store.
    #[error("openEHR backend `{backend}` has no template for {resource_type}; nothing stored")]
    NoTemplate {
        backend: String,
        resource_type: String,
    },
}

impl Classified for FeedError {
    fn fault(&self) -> Fault {
        match self {
            FeedError::Unparsed(_)
            | FeedError::TooLarge { .. }
            | FeedError::MissingHeader(_)
            | FeedError::DestinationError { .. }
            | FeedError::Framing(_)
            | FeedError::TooManyBadFrames { .. } => Fault::Client,
            FeedError::Translate(e) => e.fault(),
            // The backend refusing a write is the destination refusing:
            // `AR`, so the sender keeps the message (as for a FHIR
            // server's 4xx); the facade's own findings keep their fault.
            FeedError::OpenEhr { source, .. } => match **source {
                crate::facade::FacadeError::Backend { .. } => Fault::Upstream,
                ref other => other.fault(),
            },
            FeedError::Queue(e) => e.fault(),
            FeedError::Unreachable { .. }
            | FeedError::BackingOff { .. }
            | FeedError::Refused { .. }
            | FeedError::BadAnswer { .. }
            | FeedError::InFlight => Fault::Upstream,
            FeedError::NoTemplate { .. } => Fault::Client,
            FeedError::UnknownFacility | FeedError::NoRoute | FeedError::NoBackend(_) => {
                Fault::Internal
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            FeedError::Unparsed(_) => "mllp.unparsed",
            FeedError::TooLarge { .. } => "mllp.frame-too-large",
            FeedError::MissingHeader(_) => "mllp.missing-header",
            FeedError::UnknownFacility => "mllp.unknown-facility",
            FeedError::NoRoute => "mllp.no-route",
            FeedError::Translate(e) => e.code(),
            FeedError::OpenEhr { source, .. } => source.code(),
            FeedError::Queue(e) => e.code(),
            FeedError::Unreachable { .. } => "mllp.destination-unreachable",
            FeedError::BackingOff { .. } => "mllp.destination-backoff",
            FeedError::Refused { .. } => "mllp.destination-refused",
            FeedError::DestinationError { .. } => "mllp.destination-error",
            FeedError::BadAnswer { .. } => "mllp.destination-bad-answer",
            FeedError::Framing(_) => "mllp.framing",
            FeedError::TooManyBadFrames { .. } => "mllp.too-many-bad-frames",
            FeedError::NoBackend(_) => "mllp.no-backend",
            FeedError::InFlight => "mllp.in-flight",
            FeedError::NoTemplate { .. } => "mllp.openehr-no-template",
        }
    }
}

// === impl FeedError ===

impl FeedError {
    /// ERR-8's text: the error as shown, except that a queue failure names
    /// the condition, never a file path (outside senders read it).
    pub fn public_message(&self) -> String {
        match self {
            FeedError::Queue(e) => e.public_message(),
            other => other.to_string(),
        }
    }

    /// The HL7 table 0357 code for ERR-3.
    pub fn hl7_code(&self) -> ErrorCode {
        match self {
            FeedError::Unparsed(_) | FeedError::TooManyBadFrames { .. } => {
                ErrorCode::SegmentSequenceError
            }
            FeedError::TooLarge { .. } => ErrorCode::ValueTooLong,
            FeedError::MissingHeader(_) => ErrorCode::RequiredFieldMissing,
            FeedError::UnknownFacility => ErrorCode::UnknownKeyIdentifier,
            FeedError::NoRoute => ErrorCode::UnsupportedMessageType,
            FeedError::Translate(V2FhirError::Unsupported(_)) => ErrorCode::UnsupportedMessageType,
            FeedError::Translate(V2FhirError::MissingSegment { .. }) => {
                ErrorCode::SegmentSequenceError
            }
            FeedError::Translate(V2FhirError::MissingField { .. }) => {
                ErrorCode::RequiredFieldMissing
            }
            _ => ErrorCode::ApplicationInternalError,
        }
    }

    /// Where in the message the problem is, when it is one place.
    pub fn location(&self) -> Option<(&'static str, usize, usize)> {
        match self {
            FeedError::MissingHeader("MSH-10") => Some(("MSH", 1, 10)),
            FeedError::MissingHeader("MSH-9") => Some(("MSH", 1, 9)),
            FeedError::UnknownFacility => Some(("MSH", 1, 4)),
            FeedError::NoRoute => Some(("MSH", 1, 9)),
            _ => None,
        }
    }
}
