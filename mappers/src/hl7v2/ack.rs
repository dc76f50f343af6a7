//! ACK/NACK builder.
//!
//! An acknowledgement answers one message: MSA-1 carries the code (`AA`,
//! `AE`, `AR` for original mode, `CA`, `CE`, `CR` for enhanced-mode commit
//! acks), MSA-2 the original MSH-10. Sender and receiver (MSH-3/4 and
//! MSH-5/6) are swapped, MSH-9 is `ACK^<trigger>^ACK`, and the version,
//! processing id, charset and delimiters are the original's, so the sender
//! can read the answer with the settings it already uses.
//!
//! Errors go into ERR segments. From v2.5 on: ERR-2 location
//! (`SEG^occurrence^field`), ERR-3 the HL7 table 0357 code
//! (`101^Required field missing^HL70357`), ERR-4 severity (table 0516) and
//! ERR-8 a user message. Before v2.5 the same facts go into ERR-1 (ELD:
//! `SEG^occurrence^field^code&text&HL70357`), the only field those versions
//! define. The control id and timestamp are passed in, so output is
//! deterministic and testable.

use super::error::{ParseError, ParseErrorKind};
use super::escape::escape_into;
use super::message::Message;
use super::value::Value;

/// MSA-1 acknowledgement codes (HL7 table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// Original mode: application accept.
    AA,
    /// Original mode: application error.
    AE,
    /// Original mode: application reject.
    AR,
    /// Enhanced mode: commit accept.
    CA,
    /// Enhanced mode: commit error.
    CE,
    /// Enhanced mode: commit reject.
    CR,
}

impl AckCode {
    /// The code as written in MSA-1.
    pub fn as_str(&self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }
}

/// HL7 table 0357, message error condition codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: message accepted.
    MessageAccepted,
    /// 100: segment sequence error.
    SegmentSequenceError,
    /// 101: required field missing.
    RequiredFieldMissing,
    /// 102: data type error.
    DataTypeError,
    /// 103: table value not found.
    TableValueNotFound,
    /// 104: value too long (v2.7).
    ValueTooLong,
    /// 198: non-conformant cardinality (v2.9).
    NonConformantCardinality,
    /// 199: other HL7 error (v2.9).
    OtherHl7Error,
    /// 200: unsupported message type.
    UnsupportedMessageType,
    /// 201: unsupported event code.
    UnsupportedEventCode,
    /// 202: unsupported processing id.
    UnsupportedProcessingId,
    /// 203: unsupported version id.
    UnsupportedVersionId,
    /// 204: unknown key identifier.
    UnknownKeyIdentifier,
    /// 205: duplicate key identifier.
    DuplicateKeyIdentifier,
    /// 206: application record locked.
    ApplicationRecordLocked,
    /// 207: application internal error.
    ApplicationInternalError,
}

impl ErrorCode {
    /// Every code, in table order.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::MessageAccepted,
        ErrorCode::SegmentSequenceError,
        ErrorCode::RequiredFieldMissing,
        ErrorCode::DataTypeError,
        ErrorCode::TableValueNotFound,
        ErrorCode::ValueTooLong,
        ErrorCode::NonConformantCardinality,
        ErrorCode::OtherHl7Error,
        ErrorCode::UnsupportedMessageType,
        ErrorCode::UnsupportedEventCode,
        ErrorCode::UnsupportedProcessingId,
        ErrorCode::UnsupportedVersionId,
        ErrorCode::UnknownKeyIdentifier,
        ErrorCode::DuplicateKeyIdentifier,
        ErrorCode::ApplicationRecordLocked,
        ErrorCode::ApplicationInternalError,
    ];

    /// The numeric code as written in ERR-3.1.
    pub fn code(&self) -> &'static str {
        self.entry().0
    }

    /// The table's display text.
    pub fn text(&self) -> &'static str {
        self.entry().1
    }

    fn entry(&self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::MessageAccepted => ("0", "Message accepted"),
            ErrorCode::SegmentSequenceError => ("100", "Segment sequence error"),
            ErrorCode::RequiredFieldMissing => ("101", "Required field missing"),
            ErrorCode::DataTypeError => ("102", "Data type error"),
            ErrorCode::TableValueNotFound => ("103", "Table value not found"),
            ErrorCode::ValueTooLong => ("104", "Value too long"),
            ErrorCode::NonConformantCardinality => ("198", "Non-Conformant Cardinality"),
            ErrorCode::OtherHl7Error => ("199", "Other HL7 Error"),
            ErrorCode::UnsupportedMessageType => ("200", "Unsupported message type"),
            ErrorCode::UnsupportedEventCode => ("201", "Unsupported event code"),
            ErrorCode::UnsupportedProcessingId => ("202", "Unsupported processing id"),
            ErrorCode::UnsupportedVersionId => ("203", "Unsupported version id"),
            ErrorCode::UnknownKeyIdentifier => ("204", "Unknown key identifier"),
            ErrorCode::DuplicateKeyIdentifier => ("205", "Duplicate key identifier"),
            ErrorCode::ApplicationRecordLocked => ("206", "Application record locked"),
            ErrorCode::ApplicationInternalError => ("207", "Application internal error"),
        }
    }

    /// Looks a numeric code up.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// ERR-4 severity (HL7 table 0516).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `E`: error, the message was not (fully) processed.
    Error,
    /// `W`: warning, processed with doubts.
    Warning,
    /// `I`: information.
    Information,
    /// `F`: fatal error.
    Fatal,
}

impl Severity {
    /// The code as written in ERR-4.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
            Severity::Fatal => "F",
        }
    }
}

/// Where an error is: segment name, 1-based occurrence among segments of
/// that name, and 1-based field (0 when the whole segment is meant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    /// Segment name (`PID`).
    pub segment: String,
    /// Occurrence of that segment, 1-based.
    pub sequence: usize,
    /// Field sequence number, 1-based; 0 for the segment as a whole.
    pub field: usize,
}

/// One ERR segment to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    /// Where, if known.
    pub location: Option<ErrorLocation>,
    /// The table 0357 code.
    pub code: ErrorCode,
    /// How bad.
    pub severity: Severity,
    /// Text for a human (ERR-8); never put patient data here.
    pub message: Option<String>,
}

impl AckError {
    /// An error without location or message.
    pub fn new(code: ErrorCode, severity: Severity) -> Self {
        Self {
            location: None,
            code,
            severity,
            message: None,
        }
    }

    /// Adds a location.
    pub fn at(mut self, segment: &str, sequence: usize, field: usize) -> Self {
        self.location = Some(ErrorLocation {
            segment: segment.to_string(),
            sequence,
            field,
        });
        self
    }

    /// Adds a user message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The ERR content for a parse failure: its location and the closest
    /// table 0357 code (limits are "value too long", names and delimiters
    /// "segment sequence error"...).
    pub fn from_parse_error(e: &ParseError, original: Option<&Message<'_>>) -> Self {
        let code = match e.kind() {
            ParseErrorKind::FieldTooLarge { .. }
            | ParseErrorKind::MessageTooLarge { .. }
            | ParseErrorKind::TooManySegments { .. }
            | ParseErrorKind::TooManyRepetitions { .. }
            | ParseErrorKind::TooManyComponents { .. } => ErrorCode::ValueTooLong,
            ParseErrorKind::Empty | ParseErrorKind::NoMsh | ParseErrorKind::BadSegmentName => {
                ErrorCode::SegmentSequenceError
            }
            _ => ErrorCode::OtherHl7Error,
        };
        let mut err = AckError::new(code, Severity::Error).with_message(e.to_string());
        if let (Some(name), Some(index)) = (e.segment_name(), e.segment_index()) {
            // Occurrence among segments of that name, when we know them.
            let sequence = original.map_or(1, |m| {
                m.segments()
                    .take(index + 1)
                    .filter(|s| s.name() == name)
                    .count()
                    .max(1)
            });
            err = err.at(name, sequence, e.field().unwrap_or(0));
        }
        err
    }
}

/// Builds an acknowledgement for `original`; see the module documentation.
pub fn build(
    original: &Message<'_>,
    code: AckCode,
    errors: &[AckError],
    control_id: &str,
    timestamp: &str,
) -> Vec<u8> {
    AckBuilder::new(original, code)
        .errors(errors)
        .build(control_id, timestamp)
}

/// Builder for acknowledgements when [`build`]'s arguments are not enough
/// (an MSA-3 text for pre-2.5 receivers, for instance).
#[derive(Debug, Clone)]
pub struct AckBuilder<'m, 'a> {
    original: &'m Message<'a>,
    code: AckCode,
    errors: Vec<AckError>,
    text: Option<String>,
}

// === impl AckBuilder ===

impl<'m, 'a> AckBuilder<'m, 'a> {
    /// Starts an acknowledgement of `original` with MSA-1 `code`.
    pub fn new(original: &'m Message<'a>, code: AckCode) -> Self {
        Self {
            original,
            code,
            errors: Vec::new(),
            text: None,
        }
    }

    /// Adds ERR segments.
    pub fn errors(mut self, errors: &[AckError]) -> Self {
        self.errors.extend_from_slice(errors);
        self
    }

    /// Adds one ERR segment.
    pub fn error(mut self, error: AckError) -> Self {
        self.errors.push(error);
        self
    }

    /// Sets MSA-3 (text message; deprecated from v2.5 but read by older
    /// receivers).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Writes the acknowledgement, segments ended by CR.
    pub fn build(&self, control_id: &str, timestamp: &str) -> Vec<u8> {
        let m = self.original;
        let d = *m.delimiters();
        let msh = m.segment_at(0);
        let raw = |seq: usize| msh.map_or(&[][..], |s| s.field(seq).raw());
        let mut out = Vec::with_capacity(256);
        let fs = d.field;
        let text = |out: &mut Vec<u8>, t: &str| escape_into(t.as_bytes(), &d, out);

        out.extend_from_slice(b"MSH");
        out.push(fs);
        out.extend_from_slice(raw(2));
        for seq in [5, 6, 3, 4] {
            out.push(fs);
            out.extend_from_slice(raw(seq));
        }
        out.push(fs);
        text(&mut out, timestamp);
        out.push(fs); // MSH-8 security
        out.push(fs);
        out.extend_from_slice(b"ACK");
        let trigger = msh.map(|s| s.field(9).component(2));
        if d.component != d.field {
            out.push(d.component);
            out.extend_from_slice(trigger.map_or(&[][..], |v: Value<'_>| v.raw()));
            out.push(d.component);
            out.extend_from_slice(b"ACK");
        }
        out.push(fs);
        text(&mut out, control_id);
        for seq in [11, 12] {
            out.push(fs);
            out.extend_from_slice(raw(seq));
        }
        let charset = raw(18);
        if !charset.is_empty() {
            out.extend_from_slice(&[fs; 6]);
            out.extend_from_slice(charset);
        }
        out.push(b'\r');

        out.extend_from_slice(b"MSA");
        out.push(fs);
        out.extend_from_slice(self.code.as_str().as_bytes());
        out.push(fs);
        out.extend_from_slice(raw(10));
        if let Some(t) = &self.text {
            out.push(fs);
            text(&mut out, t);
        }
        out.push(b'\r');

        let modern = is_v25_or_later(m.version().as_deref());
        for e in &self.errors {
            if modern {
                write_err_v25(&mut out, e, &d);
            } else {
                write_err_v2x(&mut out, e, &d);
            }
            out.push(b'\r');
        }
        out
    }
}

/// True for 2.5 and later (and for an absent version: answer in the
/// current layout).
fn is_v25_or_later(version: Option<&str>) -> bool {
    let Some(v) = version else { return true };
    let mut parts = v.trim().split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(2);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(5);
    (major, minor) >= (2, 5)
}

fn location_components(out: &mut Vec<u8>, loc: &ErrorLocation, d: &super::Delimiters) {
    escape_into(loc.segment.as_bytes(), d, out);
    out.push(d.component);
    out.extend_from_slice(loc.sequence.to_string().as_bytes());
    if loc.field > 0 {
        out.push(d.component);
        out.extend_from_slice(loc.field.to_string().as_bytes());
    }
}

/// `ERR||SEG^occ^field|code^text^HL70357|severity||||message`
fn write_err_v25(out: &mut Vec<u8>, e: &AckError, d: &super::Delimiters) {
    let fs = d.field;
    out.extend_from_slice(b"ERR");
    out.push(fs); // ERR-1 (ELD) is for backward compatibility only
    out.push(fs);
    if let Some(loc) = &e.location {
        location_components(out, loc, d);
    }
    out.push(fs);
    out.extend_from_slice(e.code.code().as_bytes());
    out.push(d.component);
    escape_into(e.code.text().as_bytes(), d, out);
    out.push(d.component);
    out.extend_from_slice(b"HL70357");
    out.push(fs);
    out.extend_from_slice(e.severity.as_str().as_bytes());
    if let Some(msg) = &e.message {
        out.extend_from_slice(&[fs; 4]);
        escape_into(msg.as_bytes(), d, out);
    }
}

/// `ERR|SEG^occ^field^code&text&HL70357`
fn write_err_v2x(out: &mut Vec<u8>, e: &AckError, d: &super::Delimiters) {
    out.extend_from_slice(b"ERR");
    out.push(d.field);
    let (seg, seq, field) = match &e.location {
        Some(l) => (
            l.segment.as_str(),
            l.sequence.to_string(),
            l.field.to_string(),
        ),
        None => ("", String::new(), String::new()),
    };
    escape_into(seg.as_bytes(), d, out);
    out.push(d.component);
    out.extend_from_slice(seq.as_bytes());
    out.push(d.component);
    if field != "0" {
        out.extend_from_slice(field.as_bytes());
    }
    out.push(d.component);
    out.extend_from_slice(e.code.code().as_bytes());
    out.push(d.subcomponent);
    escape_into(e.code.text().as_bytes(), d, out);
    out.push(d.subcomponent);
    out.extend_from_slice(b"HL70357");
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIG: &[u8] = b"MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|MSG123|P|2.5.1\rPID|1||42\r";

    fn parse(b: &[u8]) -> Message<'_> {
        Message::parse(b).unwrap()
    }

    #[test]
    fn accept() {
        let orig = parse(ORIG);
        let ack = build(&orig, AckCode::AA, &[], "ACK1", "20240101120001");
        assert_eq!(
            ack,
            b"MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|20240101120001||ACK^A01^ACK|ACK1|P|2.5.1\rMSA|AA|MSG123\r"
        );
        let a = parse(&ack);
        assert_eq!(a.get("MSA-2").unwrap().unwrap().text(), "MSG123");
        assert_eq!(a.get("MSH-3").unwrap().unwrap().text(), "RECVAPP");
        assert_eq!(a.get("MSH-6").unwrap().unwrap().text(), "SENDFAC");
        assert_eq!(a.version().as_deref(), Some("2.5.1"));
    }

    #[test]
    fn every_ack_code() {
        let orig = parse(ORIG);
        for (code, s) in [
            (AckCode::AA, "AA"),
            (AckCode::AE, "AE"),
            (AckCode::AR, "AR"),
            (AckCode::CA, "CA"),
            (AckCode::CE, "CE"),
            (AckCode::CR, "CR"),
        ] {
            let ack = build(&orig, code, &[], "1", "2");
            let a = parse(&ack);
            assert_eq!(a.get("MSA-1").unwrap().unwrap().text(), s);
        }
    }

    #[test]
    fn error_segment_v25() {
        let orig = parse(ORIG);
        let err = AckError::new(ErrorCode::RequiredFieldMissing, Severity::Error)
            .at("PID", 1, 3)
            .with_message("PID-3 is required | missing");
        let ack = build(&orig, AckCode::AE, &[err], "A2", "20240101");
        let text = String::from_utf8(ack.clone()).unwrap();
        assert!(
            text.ends_with("ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 is required \\F\\ missing\r"),
            "{text}"
        );
        let a = parse(&ack);
        assert_eq!(a.get("ERR-2-1").unwrap().unwrap().text(), "PID");
        assert_eq!(a.get("ERR-3-3").unwrap().unwrap().text(), "HL70357");
        assert_eq!(
            a.get("ERR-8").unwrap().unwrap().text(),
            "PID-3 is required | missing"
        );
    }

    #[test]
    fn error_segment_pre_v25_and_other_delimiters() {
        let orig = parse(b"MSH^~|\\&^S^SF^R^RF^20240101^^ORU~R01^C9^T^2.3\r");
        let err = AckError::new(ErrorCode::DataTypeError, Severity::Error).at("OBX", 2, 5);
        let ack = build(&orig, AckCode::AE, &[err], "X", "T");
        assert_eq!(
            String::from_utf8(ack).unwrap(),
            "MSH^~|\\&^R^RF^S^SF^T^^ACK~R01~ACK^X^T^2.3\rMSA^AE^C9\rERR^OBX~2~5~102&Data type error&HL70357\r"
        );
    }

    #[test]
    fn table_0357_codes() {
        let expected = [
            ("0", "Message accepted"),
            ("100", "Segment sequence error"),
            ("101", "Required field missing"),
            ("102", "Data type error"),
            ("103", "Table value not found"),
            ("104", "Value too long"),
            ("198", "Non-Conformant Cardinality"),
            ("199", "Other HL7 Error"),
            ("200", "Unsupported message type"),
            ("201", "Unsupported event code"),
            ("202", "Unsupported processing id"),
            ("203", "Unsupported version id"),
            ("204", "Unknown key identifier"),
            ("205", "Duplicate key identifier"),
            ("206", "Application record locked"),
            ("207", "Application internal error"),
        ];
        assert_eq!(ErrorCode::ALL.len(), expected.len());
        for (c, (code, text)) in ErrorCode::ALL.iter().zip(expected) {
            assert_eq!((c.code(), c.text()), (code, text));
            assert_eq!(ErrorCode::from_code(code), Some(*c));
        }
        assert_eq!(ErrorCode::from_code("999"), None);
    }

    #[test]
    fn severities() {
        let s: Vec<_> = [
            Severity::Error,
            Severity::Warning,
            Severity::Information,
            Severity::Fatal,
        ]
        .iter()
        .map(Severity::as_str)
        .collect();
        assert_eq!(s, ["E", "W", "I", "F"]);
    }

    #[test]
    fn from_parse_error_locates() {
        let input = b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rOBX|1\rOBX|2||||x~x~x~x\r";
        let limits = super::super::Limits {
            max_repetitions: 2,
            ..Default::default()
        };
        let e = Message::parse_with(input, &limits).unwrap_err();
        let err = AckError::from_parse_error(&e, None);
        assert_eq!(err.code, ErrorCode::ValueTooLong);
        assert_eq!(
            err.location,
            Some(ErrorLocation {
                segment: "OBX".into(),
                sequence: 1,
                field: 5
            })
        );
    }

    #[test]
    fn msa3_text_and_charset_copied() {
        let orig = parse(b"MSH|^~\\&|A|B|C|D|T||ADT^A01|9|P|2.4||||||8859/1\r");
        let ack = AckBuilder::new(&orig, AckCode::AR)
            .text("rejected")
            .build("1", "2");
        assert_eq!(
            ack,
            b"MSH|^~\\&|C|D|A|B|2||ACK^A01^ACK|1|P|2.4||||||8859/1\rMSA|AR|9|rejected\r"
        );
    }
}
