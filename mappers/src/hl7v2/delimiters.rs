//! The five ER7 delimiters, read from MSH-1 and MSH-2.

use super::error::{ParseError, ParseErrorKind, ParseWarning};

/// The delimiters of one message, as declared in its MSH segment.
///
/// A delimiter that MSH-2 does not declare (some old senders send only
/// `^~\` or `^~}`) is set to the *field* separator: a field never contains
/// that byte, so splitting on it finds nothing and the level is simply
/// absent. `escape` and `truncation` are `None` when not declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: u8,
    /// Component separator, usually `^`.
    pub component: u8,
    /// Repetition separator, usually `~`.
    pub repetition: u8,
    /// Escape character, usually `\`.
    pub escape: Option<u8>,
    /// Sub-component separator, usually `&`.
    pub subcomponent: u8,
    /// Truncation character (v2.7+), usually `#`.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters every modern sender uses.
    fn default() -> Self {
        Self {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: Some(b'\\'),
            subcomponent: b'&',
            truncation: None,
        }
    }
}

// === impl Delimiters ===

impl Delimiters {
    /// Reads the delimiters from the start of an MSH segment (`seg` begins
    /// with `MSH`). Returns the delimiters and the length of MSH-2.
    ///
    /// `offset` is the position of `seg` in the input, for error reporting.
    pub(crate) fn from_msh(
        seg: &[u8],
        offset: usize,
        warnings: &mut Vec<ParseWarning>,
    ) -> Result<(Self, usize), ParseError> {
        let truncated =
            || ParseError::new(ParseErrorKind::TruncatedMsh, offset).at_segment("MSH", 0);
        let field = *seg.get(3).ok_or_else(truncated)?;
        if !is_valid_delimiter(field) {
            return Err(ParseError::new(ParseErrorKind::BadDelimiters, offset + 3)
                .at_segment("MSH", 0)
                .at_field(1));
        }
        let rest = &seg[4..];
        // MSH-2 must be closed by a field separator: "MSH|^~\&" alone is a
        // truncated header, not a message.
        let len = memchr::memchr(field, rest).ok_or_else(truncated)?;
        let declared = &rest[..len];
        let mut chars: Vec<u8> = Vec::with_capacity(5);
        for &c in declared {
            if !is_valid_delimiter(c) {
                return Err(ParseError::new(ParseErrorKind::BadDelimiters, offset + 4)
                    .at_segment("MSH", 0)
                    .at_field(2));
            }
            if c == field || chars.contains(&c) {
                // "^~\\&" appears in the wild (a string literal escaped
                // twice); the duplicate carries no meaning, so skip it.
                warnings.push(ParseWarning::new(
                    "MSH-2",
                    "duplicate delimiter in the encoding characters ignored",
                ));
                continue;
            }
            chars.push(c);
        }
        if chars.is_empty() || chars.len() > 5 {
            return Err(ParseError::new(ParseErrorKind::BadDelimiters, offset + 4)
                .at_segment("MSH", 0)
                .at_field(2));
        }
        if chars.len() < 4 {
            warnings.push(ParseWarning::new(
                "MSH-2",
                "fewer than four encoding characters; missing delimiters are unused",
            ));
        }
        let at = |i: usize| chars.get(i).copied();
        Ok((
            Self {
                field,
                component: at(0).unwrap_or(field),
                repetition: at(1).unwrap_or(field),
                escape: at(2),
                subcomponent: at(3).unwrap_or(field),
                truncation: at(4),
            },
            len,
        ))
    }

    /// True when `b` is one of this message's delimiters (field, component,
    /// repetition, sub-component, escape or truncation).
    pub fn is_delimiter(&self, b: u8) -> bool {
        b == self.field
            || b == self.component
            || b == self.repetition
            || b == self.subcomponent
            || Some(b) == self.escape
            || Some(b) == self.truncation
    }

    /// The MSH-2 encoding characters these delimiters write.
    pub fn encoding_characters(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5);
        for c in [self.component, self.repetition] {
            if c != self.field {
                out.push(c);
            }
        }
        if let Some(e) = self.escape {
            out.push(e);
        }
        if self.subcomponent != self.field {
            out.push(self.subcomponent);
        }
        if let Some(t) = self.truncation {
            out.push(t);
        }
        out
    }
}

/// A delimiter must be printable punctuation-like: not a letter or digit
/// (they would clash with segment names and values), not a segment
/// terminator, not whitespace or a control byte.
fn is_valid_delimiter(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(seg: &[u8]) -> Result<(Delimiters, Vec<ParseWarning>), ParseError> {
        let mut w = Vec::new();
        Delimiters::from_msh(seg, 0, &mut w).map(|(d, _)| (d, w))
    }

    #[test]
    fn standard_four() {
        let (d, w) = read(b"MSH|^~\\&|A").unwrap();
        assert_eq!(d, Delimiters::default());
        assert!(w.is_empty());
    }

    #[test]
    fn five_with_truncation() {
        let (d, _) = read(b"MSH|^~\\&#|A").unwrap();
        assert_eq!(d.truncation, Some(b'#'));
        assert_eq!(d.subcomponent, b'&');
    }

    #[test]
    fn caret_as_field_separator() {
        let (d, _) = read(b"MSH^~|\\&^A").unwrap();
        assert_eq!(d.field, b'^');
        assert_eq!(d.component, b'~');
        assert_eq!(d.repetition, b'|');
        assert_eq!(d.escape, Some(b'\\'));
        assert_eq!(d.subcomponent, b'&');
    }

    #[test]
    fn three_characters_leave_subcomponent_unused() {
        let (d, w) = read(b"MSH|^~}|A").unwrap();
        assert_eq!(d.escape, Some(b'}'));
        assert_eq!(d.subcomponent, b'|');
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn duplicate_escape_is_skipped_with_warning() {
        let (d, w) = read(b"MSH|^~\\\\&|A").unwrap();
        assert_eq!(d.escape, Some(b'\\'));
        assert_eq!(d.subcomponent, b'&');
        assert_eq!(d.truncation, None);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn rejects_bad_and_truncated() {
        assert_eq!(
            read(b"MSH").unwrap_err().kind(),
            &ParseErrorKind::TruncatedMsh
        );
        assert_eq!(
            read(b"MSH|^~\\&").unwrap_err().kind(),
            &ParseErrorKind::TruncatedMsh
        );
        assert_eq!(
            read(b"MSHA^~\\&A").unwrap_err().kind(),
            &ParseErrorKind::BadDelimiters
        );
        assert_eq!(
            read(b"MSH||").unwrap_err().kind(),
            &ParseErrorKind::BadDelimiters
        );
        assert_eq!(
            read(b"MSH|^~ &|").unwrap_err().kind(),
            &ParseErrorKind::BadDelimiters
        );
        assert_eq!(
            read(b"MSH|^~\\&#@|").unwrap_err().kind(),
            &ParseErrorKind::BadDelimiters
        );
    }

    #[test]
    fn encoding_characters_round_trip() {
        let (d, _) = read(b"MSH|^~\\&#|A").unwrap();
        assert_eq!(d.encoding_characters(), b"^~\\&#");
        let (d, _) = read(b"MSH|^~}|A").unwrap();
        assert_eq!(d.encoding_characters(), b"^~}");
    }
}
