//! ER7 escape sequences: decoded on access, encoded on write.
//!
//! Decoded: `\F\ \S\ \T\ \R\ \E\` (the delimiters), `\P\` (truncation
//! character, v2.7), `\Xhh..\` (raw bytes, interpreted in the message
//! charset) and `\.br\` (line break, decoded as `"\n"`: one character on
//! every platform, and what FHIR narrative and strings expect).
//!
//! Kept as text, escape characters included: the other formatting commands
//! (`\.sp\`, `\.in\`, `\H\`, `\N\`...) and the charset switches (`\Cxxyy\`,
//! `\Mxxyyzz\`) and `\Zxx\`, because they only make sense to a formatted
//! text renderer, which needs them intact.
//!
//! Malformed (no closing escape character, odd or non-hex `\X`, an unknown
//! or empty sequence): kept literally and reported as an [`EscapeWarning`],
//! never a panic.

use std::borrow::Cow;
use std::fmt;

use super::delimiters::Delimiters;

/// A malformed escape sequence found while decoding a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapeWarning {
    /// Offset of the escape character inside the value's raw bytes.
    pub offset: usize,
    /// What was wrong.
    pub kind: EscapeWarningKind,
}

/// The kinds of malformed escape sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapeWarningKind {
    /// An escape character with no closing one.
    Unterminated,
    /// `\X..\` with an odd number of digits or a non-hex digit.
    BadHex,
    /// Two escape characters in a row, or an unknown sequence.
    Unknown,
}

impl fmt::Display for EscapeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            EscapeWarningKind::Unterminated => "unterminated escape sequence",
            EscapeWarningKind::BadHex => "malformed \\X hex escape",
            EscapeWarningKind::Unknown => "unknown escape sequence",
        };
        write!(
            f,
            "{what} at byte {} of the value (kept literally)",
            self.offset
        )
    }
}

/// Decodes the escape sequences of `raw`. Borrows when there is none.
/// Returns the first malformed sequence, if any.
pub fn unescape<'a>(raw: &'a [u8], d: &Delimiters) -> (Cow<'a, [u8]>, Option<EscapeWarning>) {
    let Some(esc) = d.escape else {
        return (Cow::Borrowed(raw), None);
    };
    // most values are short and carry no escape: the word-at-a-time scan
    // beats memchr's setup for them
    let Some(first) = super::scan::find(esc, raw) else {
        return (Cow::Borrowed(raw), None);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut warning = None;
    let mut i = first;
    loop {
        // raw[i] is an escape character.
        let body_start = i + 1;
        let Some(len) = memchr::memchr(esc, &raw[body_start..]) else {
            warning.get_or_insert(EscapeWarning {
                offset: i,
                kind: EscapeWarningKind::Unterminated,
            });
            out.extend_from_slice(&raw[i..]);
            break;
        };
        let end = body_start + len; // index of the closing escape character
        let seq = &raw[body_start..end];
        match decode_sequence(seq, d, &mut out) {
            Ok(()) => {}
            Err(kind) => {
                warning.get_or_insert(EscapeWarning { offset: i, kind });
                out.extend_from_slice(&raw[i..=end]);
            }
        }
        let next = end + 1;
        match memchr::memchr(esc, &raw[next..]) {
            Some(k) => {
                out.extend_from_slice(&raw[next..next + k]);
                i = next + k;
            }
            None => {
                out.extend_from_slice(&raw[next..]);
                break;
            }
        }
    }
    (Cow::Owned(out), warning)
}

/// Appends the decoding of one sequence (the bytes between the escape
/// characters) to `out`, or says why it is malformed. Formatting sequences
/// that are kept as text are appended with their escape characters.
fn decode_sequence(seq: &[u8], d: &Delimiters, out: &mut Vec<u8>) -> Result<(), EscapeWarningKind> {
    let esc = d.escape.unwrap_or(b'\\');
    let keep = |out: &mut Vec<u8>| {
        out.push(esc);
        out.extend_from_slice(seq);
        out.push(esc);
    };
    match seq {
        b"F" => out.push(d.field),
        b"S" => out.push(d.component),
        b"T" => out.push(d.subcomponent),
        b"R" => out.push(d.repetition),
        b"E" => out.push(esc),
        b"P" => match d.truncation {
            Some(t) => out.push(t),
            None => return Err(EscapeWarningKind::Unknown),
        },
        b".br" => out.push(b'\n'),
        [b'X', hex @ ..] => {
            if hex.is_empty() || hex.len() % 2 != 0 {
                return Err(EscapeWarningKind::BadHex);
            }
            let start = out.len();
            for pair in hex.chunks_exact(2) {
                match (hex_val(pair[0]), hex_val(pair[1])) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        out.truncate(start);
                        return Err(EscapeWarningKind::BadHex);
                    }
                }
            }
        }
        b"H" | b"N" => keep(out),
        [b'.', ..] | [b'C', ..] | [b'M', ..] | [b'Z', ..] => keep(out),
        _ => return Err(EscapeWarningKind::Unknown),
    }
    Ok(())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `text` (already in the message charset) to `out`, escaping
/// every delimiter so the value stays one value. Line breaks become
/// `\.br\` (CRLF counts as one) and a lone CR `\X0D\`, because a raw CR
/// would end the segment.
pub fn escape_into(text: &[u8], d: &Delimiters, out: &mut Vec<u8>) {
    let esc = d.escape.unwrap_or(b'\\');
    let seq = |out: &mut Vec<u8>, s: &[u8]| {
        out.push(esc);
        out.extend_from_slice(s);
        out.push(esc);
    };
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == d.field {
            seq(out, b"F");
        } else if b == d.component {
            seq(out, b"S");
        } else if b == d.subcomponent {
            seq(out, b"T");
        } else if b == d.repetition {
            seq(out, b"R");
        } else if b == esc {
            seq(out, b"E");
        } else if Some(b) == d.truncation {
            seq(out, b"P");
        } else if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
            seq(out, b".br");
            i += 1;
        } else if b == b'\n' {
            seq(out, b".br");
        } else if b == b'\r' {
            seq(out, b"X0D");
        } else {
            out.push(b);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Delimiters {
        Delimiters {
            truncation: Some(b'#'),
            ..Delimiters::default()
        }
    }

    fn un(s: &str) -> (String, Option<EscapeWarningKind>) {
        let (b, w) = unescape(s.as_bytes(), &d());
        (
            String::from_utf8(b.into_owned()).unwrap(),
            w.map(|w| w.kind),
        )
    }

    #[test]
    fn each_delimiter_escape() {
        assert_eq!(un(r"a\F\b").0, "a|b");
        assert_eq!(un(r"a\S\b").0, "a^b");
        assert_eq!(un(r"a\T\b").0, "a&b");
        assert_eq!(un(r"a\R\b").0, "a~b");
        assert_eq!(un(r"a\E\b").0, r"a\b");
        assert_eq!(un(r"a\P\b").0, "a#b");
    }

    #[test]
    fn hex_and_line_break() {
        assert_eq!(un(r"\X4142\c"), ("ABc".into(), None));
        assert_eq!(un(r"\XC3A9\"), ("é".into(), None));
        assert_eq!(un(r"one\.br\two"), ("one\ntwo".into(), None));
    }

    #[test]
    fn formatting_escapes_kept_as_text() {
        for s in [
            r"\H\bold\N\",
            r"a\.sp2\b",
            r"\C2842\x",
            r"\M2442\",
            r"\Zfoo\",
            r"\.in+4\",
        ] {
            assert_eq!(un(s), (s.to_string(), None), "{s}");
        }
    }

    #[test]
    fn malformed_kept_literally_with_warning() {
        assert_eq!(
            un(r"abc\X41"),
            (r"abc\X41".into(), Some(EscapeWarningKind::Unterminated))
        );
        assert_eq!(
            un(r"\X414\"),
            (r"\X414\".into(), Some(EscapeWarningKind::BadHex))
        );
        assert_eq!(
            un(r"\XZZ\"),
            (r"\XZZ\".into(), Some(EscapeWarningKind::BadHex))
        );
        assert_eq!(un(r"\X\"), (r"\X\".into(), Some(EscapeWarningKind::BadHex)));
        assert_eq!(
            un(r"a\\b"),
            (r"a\\b".into(), Some(EscapeWarningKind::Unknown))
        );
        assert_eq!(
            un(r"\Q\"),
            (r"\Q\".into(), Some(EscapeWarningKind::Unknown))
        );
        assert_eq!(
            un(r"\"),
            (r"\".into(), Some(EscapeWarningKind::Unterminated))
        );
    }

    #[test]
    fn no_escape_borrows() {
        assert!(matches!(unescape(b"plain", &d()).0, Cow::Borrowed(_)));
        let none = Delimiters {
            escape: None,
            ..d()
        };
        assert!(matches!(unescape(br"a\F\b", &none).0, Cow::Borrowed(_)));
    }

    #[test]
    fn escape_round_trips() {
        let text = "a|b^c&d~e\\f#g\nh\r\ni\rj";
        let mut out = Vec::new();
        escape_into(text.as_bytes(), &d(), &mut out);
        assert_eq!(out, br"a\F\b\S\c\T\d\R\e\E\f\P\g\.br\h\.br\i\X0D\j");
        let (back, w) = unescape(&out, &d());
        assert_eq!(back.as_ref(), b"a|b^c&d~e\\f#g\nh\ni\rj");
        assert!(w.is_none());
    }
}
