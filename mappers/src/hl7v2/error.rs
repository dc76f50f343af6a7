//! Errors and warnings of the HL7 v2 engine.
//!
//! Locations (segment name and position, field sequence, byte offset) are
//! always given; values never are, so an error can be logged without
//! leaking patient data.

use std::fmt;

use crate::error::{Classified, Fault};

/// What went wrong while parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// No bytes (or only a BOM and line breaks).
    #[error("empty input")]
    Empty,
    /// The input does not start with an MSH segment.
    #[error("input does not start with an MSH segment")]
    NoMsh,
    /// The MSH segment ends before its encoding characters are complete.
    #[error("MSH segment truncated before the end of MSH-2")]
    TruncatedMsh,
    /// MSH-1/MSH-2 declare unusable delimiters (letters, digits, spaces,
    /// control bytes, none at all, or more than five).
    #[error("unusable delimiters in MSH-1/MSH-2")]
    BadDelimiters,
    /// A segment does not start with a three-character upper-case name
    /// followed by the field separator.
    #[error("malformed segment name")]
    BadSegmentName,
    /// The message is larger than [`Limits::max_message_bytes`](super::Limits).
    #[error("message larger than {limit} bytes")]
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// More segments than [`Limits::max_segments`](super::Limits).
    #[error("more than {limit} segments")]
    TooManySegments {
        /// The configured limit.
        limit: usize,
    },
    /// A field larger than [`Limits::max_field_bytes`](super::Limits).
    #[error("field larger than {limit} bytes")]
    FieldTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// More repetitions than [`Limits::max_repetitions`](super::Limits).
    #[error("more than {limit} repetitions in one field")]
    TooManyRepetitions {
        /// The configured limit.
        limit: usize,
    },
    /// More components and sub-components than
    /// [`Limits::max_components`](super::Limits).
    #[error("more than {limit} components in one field")]
    TooManyComponents {
        /// The configured limit.
        limit: usize,
    },
    /// Batch input holds bytes that belong to no message.
    #[error("batch content outside any message")]
    OutsideMessage,
}

/// A parse failure with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} ({location})", location = self.location())]
pub struct ParseError {
    kind: ParseErrorKind,
    segment: Option<&'static str>,
    segment_name: Option<[u8; 3]>,
    segment_index: Option<usize>,
    field: Option<usize>,
    byte_offset: usize,
}

// === impl ParseError ===

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, byte_offset: usize) -> Self {
        Self {
            kind,
            segment: None,
            segment_name: None,
            segment_index: None,
            field: None,
            byte_offset,
        }
    }

    /// Attaches a segment whose name is known statically.
    pub(crate) fn at_segment(mut self, name: &'static str, index: usize) -> Self {
        self.segment = Some(name);
        self.segment_index = Some(index);
        self
    }

    /// Attaches a segment by its (already validated) three-byte name.
    pub(crate) fn at_named_segment(mut self, name: [u8; 3], index: usize) -> Self {
        self.segment_name = Some(name);
        self.segment_index = Some(index);
        self
    }

    pub(crate) fn at_index(mut self, index: usize) -> Self {
        self.segment_index = Some(index);
        self
    }

    pub(crate) fn at_field(mut self, seq: usize) -> Self {
        self.field = Some(seq);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The name of the segment at fault (`"PID"`), when known and valid.
    pub fn segment_name(&self) -> Option<&str> {
        if let Some(s) = self.segment {
            return Some(s);
        }
        self.segment_name
            .as_ref()
            .and_then(|n| std::str::from_utf8(n).ok())
    }

    /// 0-based position of the segment at fault in the message.
    pub fn segment_index(&self) -> Option<usize> {
        self.segment_index
    }

    /// HL7 sequence number (1-based) of the field at fault.
    pub fn field(&self) -> Option<usize> {
        self.field
    }

    /// Offset in the input where the problem was found.
    pub fn byte_offset(&self) -> usize {
        self.byte_offset
    }

    /// A human-readable location such as `PID (segment 3) field 5, byte 210`.
    pub fn location(&self) -> String {
        let mut s = String::new();
        match (self.segment_name(), self.segment_index) {
            (Some(n), Some(i)) => s.push_str(&format!("{n} (segment {}) ", i + 1)),
            (None, Some(i)) => s.push_str(&format!("segment {} ", i + 1)),
            _ => {}
        }
        if let Some(f) = self.field {
            s.push_str(&format!("field {f} "));
        }
        s.push_str(&format!("at byte {}", self.byte_offset));
        s
    }
}

impl Classified for ParseError {
    fn fault(&self) -> Fault {
        Fault::Client
    }

    fn code(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::Empty => "hl7v2.empty",
            ParseErrorKind::NoMsh => "hl7v2.no-msh",
            ParseErrorKind::TruncatedMsh => "hl7v2.truncated-msh",
            ParseErrorKind::BadDelimiters => "hl7v2.bad-delimiters",
            ParseErrorKind::BadSegmentName => "hl7v2.bad-segment-name",
            ParseErrorKind::MessageTooLarge { .. } => "hl7v2.limit.message-bytes",
            ParseErrorKind::TooManySegments { .. } => "hl7v2.limit.segments",
            ParseErrorKind::FieldTooLarge { .. } => "hl7v2.limit.field-bytes",
            ParseErrorKind::TooManyRepetitions { .. } => "hl7v2.limit.repetitions",
            ParseErrorKind::TooManyComponents { .. } => "hl7v2.limit.components",
            ParseErrorKind::OutsideMessage => "hl7v2.batch.outside-message",
        }
    }
}

/// A malformed terser path (`PID-3(2)-1`), or a path that cannot be used
/// for the requested operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad HL7 v2 path `{path}`: {reason}")]
pub struct PathError {
    path: String,
    reason: &'static str,
}

// === impl PathError ===

impl PathError {
    pub(crate) fn new(path: &str, reason: &'static str) -> Self {
        // Paths are written by programmers; cap the echo anyway.
        let path: String = path.chars().take(64).collect();
        Self { path, reason }
    }

    /// The path as given (at most 64 characters).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why it was refused.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl Classified for PathError {
    /// Paths come from our own mapping code, so a bad one is our bug.
    fn fault(&self) -> Fault {
        Fault::Internal
    }

    fn code(&self) -> &'static str {
        "hl7v2.bad-path"
    }
}

/// Something accepted but doubtful, found while parsing (a charset label
/// that contradicts the bytes, a duplicate delimiter...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// Where: `MSH-18`, `PID-5`, `segment 4`.
    pub location: String,
    /// What, without any value from the message.
    pub message: String,
}

impl ParseWarning {
    pub(crate) fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
