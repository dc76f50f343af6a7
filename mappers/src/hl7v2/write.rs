//! Writing ER7: an owned, editable message.
//!
//! [`Message::write_er7`](super::Message::write_er7) re-encodes a parsed
//! message byte for byte. [`OwnedMessage`] is the editable form: values are
//! set by terser path as *text*, encoded to the message charset and escaped,
//! so a value can never break the structure.

use super::charset::Charset;
use super::delimiters::Delimiters;
use super::error::{ParseError, PathError};
use super::escape::escape_into;
use super::message::Message;
use super::path::TerserPath;
use crate::error::{Classified, Fault};

/// Why a value could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// The path is malformed.
    #[error(transparent)]
    Path(#[from] PathError),
    /// MSH-1 and MSH-2 are the delimiters; they are fixed at creation.
    #[error("MSH-1 and MSH-2 cannot be set; they are the delimiters")]
    Delimiters,
    /// The segment occurrence would leave a gap (setting `OBX(3)` with one OBX).
    #[error("segment occurrence {occurrence} of {segment} would leave a gap")]
    OccurrenceGap {
        /// Segment name.
        segment: String,
        /// Requested occurrence.
        occurrence: usize,
    },
    /// The message declares no separator for the requested level.
    #[error("the message declares no {0} separator")]
    NoSeparator(&'static str),
    /// A character of the text has no encoding in the message charset.
    #[error("text not representable in the message charset {0}")]
    Unrepresentable(&'static str),
}

impl Classified for SetError {
    /// Values are set by our own mapping code: a failure is our bug, or an
    /// unrepresentable value we were asked to forward.
    fn fault(&self) -> Fault {
        match self {
            SetError::Unrepresentable(_) => Fault::Client,
            _ => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SetError::Path(_) => "hl7v2.bad-path",
            SetError::Delimiters => "hl7v2.set.delimiters",
            SetError::OccurrenceGap { .. } => "hl7v2.set.occurrence-gap",
            SetError::NoSeparator(_) => "hl7v2.set.no-separator",
            SetError::Unrepresentable(_) => "hl7v2.set.unrepresentable",
        }
    }
}

/// An owned ER7 message: a list of raw (escaped) segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedMessage {
    delimiters: Delimiters,
    charset: Charset,
    segments: Vec<Vec<u8>>,
}

// === impl OwnedMessage ===

impl OwnedMessage {
    /// A message holding only `MSH|^~\&` (or the given delimiters), to be
    /// filled with [`OwnedMessage::set`]. `charset` is how text is encoded;
    /// set MSH-18 to match when it is not ASCII.
    pub fn new(delimiters: Delimiters, charset: Charset) -> Self {
        let mut msh = b"MSH".to_vec();
        msh.push(delimiters.field);
        msh.extend_from_slice(&delimiters.encoding_characters());
        Self {
            delimiters,
            charset,
            segments: vec![msh],
        }
    }

    /// Parses and copies `input`.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        Message::parse(input).map(|m| Self::from(&m))
    }

    /// The delimiters.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The raw (escaped) segments.
    pub fn segments(&self) -> &[Vec<u8>] {
        &self.segments
    }

    /// Appends an empty segment called `name` (three upper-case letters or
    /// digits) and returns its 0-based index.
    pub fn push_segment(&mut self, name: &str) -> Result<usize, SetError> {
        // Validate the name through the path parser.
        TerserPath::parse(&format!("{name}-1"))?;
        self.segments.push(name.as_bytes().to_vec());
        Ok(self.segments.len() - 1)
    }

    /// Sets the value at a terser path to `text`: encoded to the message
    /// charset, delimiters escaped. Missing segments (the next occurrence
    /// only), fields, repetitions and components are created. Without a
    /// repetition, component or sub-component in the path the whole field
    /// is replaced.
    pub fn set(&mut self, path: &str, text: &str) -> Result<(), SetError> {
        let encoded = self
            .charset
            .encode(text)
            .ok_or(SetError::Unrepresentable(self.charset.hl7_name()))?;
        let mut escaped = Vec::with_capacity(encoded.len() + 8);
        escape_into(&encoded, &self.delimiters, &mut escaped);
        self.set_raw(path, &escaped)
    }

    /// Sets already escaped bytes (copied from another message with the
    /// same delimiters, for instance). The caller guarantees they contain
    /// no delimiter of a higher level than the path addresses.
    pub fn set_raw(&mut self, path: &str, raw: &[u8]) -> Result<(), SetError> {
        let p = TerserPath::parse(path)?;
        let d = self.delimiters;
        let is_msh = p.segment() == "MSH";
        if is_msh && p.field <= 2 {
            return Err(SetError::Delimiters);
        }
        for (level, sep, used) in [
            (
                "repetition",
                d.repetition,
                p.repetition.is_some_and(|r| r > 1),
            ),
            ("component", d.component, p.component.is_some_and(|c| c > 1)),
            (
                "sub-component",
                d.subcomponent,
                p.subcomponent.is_some_and(|s| s > 1),
            ),
        ] {
            if used && sep == d.field {
                return Err(SetError::NoSeparator(level));
            }
        }
        let index = self.segment_index(&p)?;
        let seg = &self.segments[index];
        // Field n of a segment is piece n after splitting on the field
        // separator (piece 0 is the name); for MSH, piece 1 is MSH-2, so
        // field n is piece n-1. Deeper levels are 1-based: piece n-1.
        let piece = if is_msh { p.field - 1 } else { p.field };
        let new_seg = replace_piece(seg, d.field, piece, |field| {
            if p.repetition.is_none() && p.component.is_none() && p.subcomponent.is_none() {
                return raw.to_vec();
            }
            replace_piece(field, d.repetition, p.repetition.unwrap_or(1) - 1, |rep| {
                let Some(c) = p.component.or(p.subcomponent.map(|_| 1)) else {
                    return raw.to_vec();
                };
                replace_piece(rep, d.component, c - 1, |comp| match p.subcomponent {
                    None => raw.to_vec(),
                    Some(s) => replace_piece(comp, d.subcomponent, s - 1, |_| raw.to_vec()),
                })
            })
        });
        self.segments[index] = new_seg;
        Ok(())
    }

    /// The index of the addressed segment occurrence, appending it when it
    /// is the next one.
    fn segment_index(&mut self, p: &TerserPath) -> Result<usize, SetError> {
        let name = p.segment().as_bytes();
        let mut seen = 0;
        for (i, seg) in self.segments.iter().enumerate() {
            if seg.get(..3) == Some(name) {
                seen += 1;
                if seen == p.occurrence {
                    return Ok(i);
                }
            }
        }
        if p.occurrence == seen + 1 {
            self.segments.push(name.to_vec());
            return Ok(self.segments.len() - 1);
        }
        Err(SetError::OccurrenceGap {
            segment: p.segment().to_string(),
            occurrence: p.occurrence,
        })
    }

    /// Writes the message, each segment ended by a CR.
    pub fn write_er7(&self, out: &mut Vec<u8>) {
        for seg in &self.segments {
            out.extend_from_slice(seg);
            out.push(b'\r');
        }
    }

    /// [`OwnedMessage::write_er7`] into a new vector.
    pub fn to_er7(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_er7(&mut out);
        out
    }
}

impl From<&Message<'_>> for OwnedMessage {
    fn from(m: &Message<'_>) -> Self {
        Self {
            delimiters: *m.delimiters(),
            charset: m.charset(),
            segments: m.segments().map(|s| s.raw().to_vec()).collect(),
        }
    }
}

/// Splits `container` on `sep`, replaces piece `idx` (0-based) with
/// `f(old)`, adding empty pieces as needed, and joins again.
fn replace_piece(
    container: &[u8],
    sep: u8,
    idx: usize,
    f: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut pieces: Vec<&[u8]> = container.split(|&b| b == sep).collect();
    while pieces.len() <= idx {
        pieces.push(&[]);
    }
    let new = f(pieces[idx]);
    let mut out = Vec::with_capacity(container.len() + new.len() + idx);
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        if i == idx {
            out.extend_from_slice(&new);
        } else {
            out.extend_from_slice(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] =
        b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||123^^^H^MR||Doe^John\r";

    #[test]
    fn set_escapes_and_creates() {
        let mut m = OwnedMessage::parse(MSG).unwrap();
        m.set("PID-5-1", "O|Brien^&~\\").unwrap();
        m.set("PID-3(2)-1", "456").unwrap();
        m.set("PID-11-3-2", "Sub").unwrap();
        m.set("OBX-5", "two\nlines").unwrap();
        m.set("MSH-10", "X1").unwrap();
        let out = m.to_er7();
        let parsed = Message::parse(&out).unwrap();
        assert_eq!(
            parsed.get("PID-5-1").unwrap().unwrap().text(),
            "O|Brien^&~\\"
        );
        assert_eq!(parsed.get("PID-5-2").unwrap().unwrap().text(), "John");
        assert_eq!(parsed.get("PID-3(1)-1").unwrap().unwrap().text(), "123");
        assert_eq!(parsed.get("PID-3(2)-1").unwrap().unwrap().text(), "456");
        assert_eq!(parsed.get("PID-11-3-2").unwrap().unwrap().text(), "Sub");
        assert_eq!(parsed.get("OBX-5").unwrap().unwrap().text(), "two\nlines");
        assert_eq!(parsed.control_id().as_deref(), Some("X1"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5\rPID|1||123^^^H^MR~456||O\\F\\Brien\\S\\\\T\\\\R\\\\E\\^John||||||^^&Sub\rOBX|||||two\\.br\\lines\r"
        );
    }

    #[test]
    fn unmodified_round_trip() {
        let m = OwnedMessage::parse(MSG).unwrap();
        assert_eq!(m.to_er7(), MSG);
    }

    #[test]
    fn refusals() {
        let mut m = OwnedMessage::parse(MSG).unwrap();
        assert_eq!(m.set("MSH-2", "x"), Err(SetError::Delimiters));
        assert!(matches!(
            m.set("OBX(2)-1", "x"),
            Err(SetError::OccurrenceGap { .. })
        ));
        assert!(matches!(m.set("PID-x", "x"), Err(SetError::Path(_))));
        let mut latin = OwnedMessage::new(Delimiters::default(), Charset::Latin1);
        assert_eq!(
            latin.set("PID-5", "€"),
            Err(SetError::Unrepresentable("8859/1"))
        );
        latin.set("PID-5", "Müller").unwrap();
        assert_eq!(latin.to_er7(), b"MSH|^~\\&\rPID|||||M\xfcller\r");
        let three = OwnedMessage::parse(b"MSH|^~}|A\r").unwrap();
        let mut three = three;
        assert_eq!(
            three.set("PID-5-1-2", "x"),
            Err(SetError::NoSeparator("sub-component"))
        );
    }

    #[test]
    fn new_message() {
        let mut m = OwnedMessage::new(Delimiters::default(), Charset::Utf8);
        m.set("MSH-9-1", "ADT").unwrap();
        m.set("MSH-9-2", "A01").unwrap();
        m.set("MSH-12", "2.5").unwrap();
        m.push_segment("EVN").unwrap();
        assert!(m.push_segment("evn").is_err());
        assert_eq!(m.to_er7(), b"MSH|^~\\&|||||||ADT^A01|||2.5\rEVN\r");
    }
}
