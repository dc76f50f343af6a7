//! Character sets (MSH-18) and the decision of which one wins.
//!
//! # Decision: the bytes win over a contradicting MSH-18
//!
//! Senders mislabel far more often than they emit Latin-9 bytes that happen
//! to form valid multi-byte UTF-8 (the corpus has German ADT messages that
//! declare `ISO8859-15` and carry UTF-8 umlauts). Decoding such bytes as
//! Latin-9 produces mojibake (`Ã¼` for `ü`), so the effective charset is
//! chosen like this:
//!
//! - only ASCII bytes: the declared charset (it still matters for `\Xhh\`
//!   escapes), ASCII when none is declared;
//! - a UTF-8 BOM, or non-ASCII bytes that are valid UTF-8: UTF-8; when MSH-18
//!   declared something else a [`ParseWarning`] records
//!   the mismatch;
//! - non-ASCII bytes that are not valid UTF-8: the declared single-byte
//!   charset; with none (or ASCII, or UTF-8) declared, Latin-1 for ASCII/none
//!   (every byte decodes) and UTF-8 with replacement characters for a
//!   UTF-8 declaration, each with a warning.

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::error::ParseWarning;

/// A character set from HL7 table 0211.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Charset {
    /// `ASCII`, the HL7 default.
    Ascii,
    /// `UNICODE UTF-8`.
    Utf8,
    /// `8859/1` (ISO Latin-1).
    Latin1,
    /// `8859/15` (ISO Latin-9: Latin-1 with `€`, `Š`, `Œ`...).
    Latin9,
    /// `8859/2` (Latin-2, Central European).
    Latin2,
    /// `8859/3` (Latin-3).
    Latin3,
    /// `8859/4` (Latin-4).
    Latin4,
    /// `8859/5` (Cyrillic).
    Cyrillic,
    /// `8859/6` (Arabic).
    Arabic,
    /// `8859/7` (Greek).
    Greek,
    /// `8859/8` (Hebrew).
    Hebrew,
    /// `8859/9` (Latin-5, Turkish; decoded as its superset windows-1254).
    Latin5,
    /// `GB 18030-2000`.
    Gb18030,
    /// `BIG-5`.
    Big5,
    /// `KS X 1001` (as EUC-KR).
    KsX1001,
}

/// What an MSH-18 value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    None,
    Known(Charset),
    Unknown,
}

// === impl Charset ===

impl Charset {
    /// Reads an MSH-18 value. Accepts the table-0211 spellings plus the
    /// variants seen in the wild (`UTF-8`, `ISO8859-15`, `ISO-8859-1`,
    /// `LATIN1`), case-insensitively.
    pub(crate) fn from_msh18(value: &[u8]) -> Declared {
        let trimmed = value.trim_ascii();
        if trimmed.is_empty() {
            return Declared::None;
        }
        let upper: String = String::from_utf8_lossy(trimmed)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .flat_map(char::to_uppercase)
            .collect();
        let name = upper.strip_prefix("ISO").unwrap_or(&upper);
        let cs = match name {
            "ASCII" | "USASCII" | "IR6" => Charset::Ascii,
            "UNICODEUTF8" | "UTF8" | "UNICODE" => Charset::Utf8,
            "8859/1" | "88591" | "LATIN1" | "IR100" => Charset::Latin1,
            "8859/15" | "885915" | "LATIN9" => Charset::Latin9,
            "8859/2" | "88592" => Charset::Latin2,
            "8859/3" | "88593" => Charset::Latin3,
            "8859/4" | "88594" => Charset::Latin4,
            "8859/5" | "88595" => Charset::Cyrillic,
            "8859/6" | "88596" => Charset::Arabic,
            "8859/7" | "88597" => Charset::Greek,
            "8859/8" | "88598" => Charset::Hebrew,
            "8859/9" | "88599" => Charset::Latin5,
            "GB180302000" | "GB18030" => Charset::Gb18030,
            "BIG5" => Charset::Big5,
            "KSX1001" => Charset::KsX1001,
            _ => return Declared::Unknown,
        };
        Declared::Known(cs)
    }

    /// Applies the decision documented at the top of this module.
    pub(crate) fn effective(
        declared: Declared,
        body: &[u8],
        had_bom: bool,
        warnings: &mut Vec<ParseWarning>,
    ) -> Charset {
        if declared == Declared::Unknown {
            warnings.push(ParseWarning::new(
                "MSH-18",
                "unsupported character set; decoding by content",
            ));
        }
        let ascii_only = body.is_ascii();
        if ascii_only && !had_bom {
            return match declared {
                Declared::Known(cs) => cs,
                _ => Charset::Ascii,
            };
        }
        let valid_utf8 = std::str::from_utf8(body).is_ok();
        if valid_utf8 || had_bom {
            if let Declared::Known(cs) = declared {
                if cs != Charset::Utf8 && !(ascii_only && cs == Charset::Ascii) {
                    warnings.push(ParseWarning::new(
                        "MSH-18",
                        "declared character set contradicts UTF-8 content; decoding as UTF-8",
                    ));
                }
            }
            if !valid_utf8 {
                warnings.push(ParseWarning::new(
                    "message",
                    "BOM present but bytes are not valid UTF-8; invalid sequences replaced",
                ));
            }
            return Charset::Utf8;
        }
        match declared {
            Declared::Known(Charset::Utf8) => {
                warnings.push(ParseWarning::new(
                    "MSH-18",
                    "declared UTF-8 but bytes are not valid UTF-8; invalid sequences replaced",
                ));
                Charset::Utf8
            }
            Declared::Known(Charset::Ascii) | Declared::None | Declared::Unknown => {
                warnings.push(ParseWarning::new(
                    "MSH-18",
                    "non-ASCII bytes that are not UTF-8; decoding as 8859/1",
                ));
                Charset::Latin1
            }
            Declared::Known(cs) => cs,
        }
    }

    /// The MSH-18 spelling from HL7 table 0211.
    pub fn hl7_name(&self) -> &'static str {
        match self {
            Charset::Ascii => "ASCII",
            Charset::Utf8 => "UNICODE UTF-8",
            Charset::Latin1 => "8859/1",
            Charset::Latin9 => "8859/15",
            Charset::Latin2 => "8859/2",
            Charset::Latin3 => "8859/3",
            Charset::Latin4 => "8859/4",
            Charset::Cyrillic => "8859/5",
            Charset::Arabic => "8859/6",
            Charset::Greek => "8859/7",
            Charset::Hebrew => "8859/8",
            Charset::Latin5 => "8859/9",
            Charset::Gb18030 => "GB 18030-2000",
            Charset::Big5 => "BIG-5",
            Charset::KsX1001 => "KS X 1001",
        }
    }

    /// The `encoding_rs` decoder for the charsets not decoded by hand.
    fn encoding(&self) -> Option<&'static Encoding> {
        Some(match self {
            Charset::Latin2 => encoding_rs::ISO_8859_2,
            Charset::Latin3 => encoding_rs::ISO_8859_3,
            Charset::Latin4 => encoding_rs::ISO_8859_4,
            Charset::Cyrillic => encoding_rs::ISO_8859_5,
            Charset::Arabic => encoding_rs::ISO_8859_6,
            Charset::Greek => encoding_rs::ISO_8859_7,
            Charset::Hebrew => encoding_rs::ISO_8859_8,
            // encoding_rs maps ISO-8859-9 to its superset windows-1254.
            Charset::Latin5 => encoding_rs::WINDOWS_1254,
            Charset::Gb18030 => encoding_rs::GB18030,
            Charset::Big5 => encoding_rs::BIG5,
            Charset::KsX1001 => encoding_rs::EUC_KR,
            Charset::Ascii | Charset::Utf8 | Charset::Latin1 | Charset::Latin9 => return None,
        })
    }

    /// Decodes bytes of this charset to text, borrowing when the bytes are
    /// already valid UTF-8 text of the same meaning.
    pub fn decode<'a>(&self, bytes: Cow<'a, [u8]>) -> Cow<'a, str> {
        match bytes {
            Cow::Borrowed(b) => self.decode_borrowed(b),
            Cow::Owned(v) => Cow::Owned(self.decode_borrowed(&v).into_owned()),
        }
    }

    fn decode_borrowed<'a>(&self, b: &'a [u8]) -> Cow<'a, str> {
        // One validating pass for the common cases (ASCII, UTF-8) instead
        // of an ASCII check followed by a UTF-8 check.
        if let Ok(s) = std::str::from_utf8(b) {
            // ASCII means the same in every supported charset except the
            // multi-byte Asian ones, which keep ASCII as is too; valid UTF-8
            // in a UTF-8 or ASCII message (\X escapes) is taken as is.
            if matches!(self, Charset::Utf8 | Charset::Ascii) || s.is_ascii() {
                return Cow::Borrowed(s);
            }
        }
        match self {
            Charset::Utf8 => String::from_utf8_lossy(b),
            Charset::Ascii => match std::str::from_utf8(b) {
                // \X escapes in an ASCII message: accept UTF-8, else Latin-1.
                Ok(s) => Cow::Borrowed(s),
                Err(_) => Cow::Owned(b.iter().map(|&c| c as char).collect()),
            },
            Charset::Latin1 => Cow::Owned(b.iter().map(|&c| c as char).collect()),
            Charset::Latin9 => Cow::Owned(b.iter().map(|&c| latin9_char(c)).collect()),
            other => match other.encoding() {
                Some(enc) => enc.decode_without_bom_handling(b).0,
                None => String::from_utf8_lossy(b),
            },
        }
    }

    /// Encodes text for a message of this charset; `None` when a character
    /// cannot be represented (the caller reports it rather than dropping it).
    pub fn encode(&self, text: &str) -> Option<Vec<u8>> {
        match self {
            Charset::Utf8 | Charset::Ascii => Some(text.as_bytes().to_vec()),
            Charset::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            Charset::Latin9 => text.chars().map(latin9_byte).collect(),
            other => {
                let (bytes, _, unmappable) = other.encoding()?.encode(text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }
}

/// The eight code points where 8859/15 differs from 8859/1.
const LATIN9_DIFF: [(u8, char); 8] = [
    (0xA4, '€'),
    (0xA6, 'Š'),
    (0xA8, 'š'),
    (0xB4, 'Ž'),
    (0xB8, 'ž'),
    (0xBC, 'Œ'),
    (0xBD, 'œ'),
    (0xBE, 'Ÿ'),
];

fn latin9_char(b: u8) -> char {
    LATIN9_DIFF
        .iter()
        .find(|(byte, _)| *byte == b)
        .map_or(b as char, |(_, c)| *c)
}

fn latin9_byte(c: char) -> Option<u8> {
    if let Some((b, _)) = LATIN9_DIFF.iter().find(|(_, ch)| *ch == c) {
        return Some(*b);
    }
    let b = u8::try_from(u32::from(c)).ok()?;
    // The Latin-1 characters Latin-9 replaced are not representable.
    (!LATIN9_DIFF.iter().any(|(byte, _)| *byte == b)).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(decl: &[u8], body: &[u8], bom: bool) -> (Charset, usize) {
        let mut w = Vec::new();
        let cs = Charset::effective(Charset::from_msh18(decl), body, bom, &mut w);
        (cs, w.len())
    }

    #[test]
    fn labels() {
        assert_eq!(
            Charset::from_msh18(b"ASCII"),
            Declared::Known(Charset::Ascii)
        );
        assert_eq!(
            Charset::from_msh18(b"UNICODE UTF-8"),
            Declared::Known(Charset::Utf8)
        );
        assert_eq!(
            Charset::from_msh18(b"utf-8"),
            Declared::Known(Charset::Utf8)
        );
        assert_eq!(
            Charset::from_msh18(b"8859/1"),
            Declared::Known(Charset::Latin1)
        );
        assert_eq!(
            Charset::from_msh18(b"8859/15"),
            Declared::Known(Charset::Latin9)
        );
        assert_eq!(
            Charset::from_msh18(b"ISO8859-15"),
            Declared::Known(Charset::Latin9)
        );
        assert_eq!(
            Charset::from_msh18(b"8859/2"),
            Declared::Known(Charset::Latin2)
        );
        assert_eq!(Charset::from_msh18(b""), Declared::None);
        assert_eq!(Charset::from_msh18(b"KLINGON"), Declared::Unknown);
    }

    #[test]
    fn ascii_body_keeps_declaration() {
        assert_eq!(eff(b"8859/15", b"abc", false), (Charset::Latin9, 0));
        assert_eq!(eff(b"", b"abc", false), (Charset::Ascii, 0));
        assert_eq!(eff(b"UNICODE UTF-8", b"abc", false), (Charset::Utf8, 0));
    }

    #[test]
    fn utf8_bytes_win_over_latin9_label() {
        assert_eq!(
            eff(b"8859/15", "Müller".as_bytes(), false),
            (Charset::Utf8, 1)
        );
        assert_eq!(
            eff(b"8859/1", "Müller".as_bytes(), false),
            (Charset::Utf8, 1)
        );
    }

    #[test]
    fn real_latin9_bytes_stay_latin9() {
        assert_eq!(
            eff(b"8859/15", b"M\xfcller \xa4", false),
            (Charset::Latin9, 0)
        );
        let text = Charset::Latin9.decode(Cow::Borrowed(b"\xa4 M\xfcller"));
        assert_eq!(text, "€ Müller");
        let text = Charset::Latin1.decode(Cow::Borrowed(b"\xa4 M\xfcller"));
        assert_eq!(text, "¤ Müller");
    }

    #[test]
    fn undeclared_non_utf8_falls_back_to_latin1() {
        assert_eq!(eff(b"", b"M\xfcller", false), (Charset::Latin1, 1));
        assert_eq!(eff(b"", "Müller".as_bytes(), false), (Charset::Utf8, 0));
        assert_eq!(
            eff(b"UNICODE UTF-8", b"M\xfcller", false),
            (Charset::Utf8, 1)
        );
    }

    #[test]
    fn bom_implies_utf8() {
        assert_eq!(eff(b"", b"abc", true), (Charset::Utf8, 0));
        assert_eq!(eff(b"8859/1", b"abc", true), (Charset::Utf8, 1));
    }

    #[test]
    fn utf8_decode_borrows() {
        let b = "Müller".as_bytes();
        assert!(matches!(
            Charset::Utf8.decode(Cow::Borrowed(b)),
            Cow::Borrowed("Müller")
        ));
    }

    #[test]
    fn encode_each_charset() {
        assert_eq!(Charset::Latin9.encode("€").unwrap(), vec![0xA4]);
        assert_eq!(Charset::Latin9.encode("¤"), None);
        assert_eq!(Charset::Latin1.encode("ü").unwrap(), vec![0xFC]);
        assert_eq!(Charset::Latin1.encode("€"), None);
        assert_eq!(Charset::Utf8.encode("ü").unwrap(), "ü".as_bytes());
        for (cs, text) in [
            (Charset::Latin2, "Łódź"),
            (Charset::Cyrillic, "Москва"),
            (Charset::Greek, "Αθήνα"),
            (Charset::Gb18030, "北京"),
            (Charset::Big5, "臺北"),
            (Charset::KsX1001, "서울"),
        ] {
            let bytes = cs.encode(text).unwrap();
            assert_ne!(bytes, text.as_bytes(), "{cs:?}");
            assert_eq!(cs.decode(Cow::Owned(bytes)), text, "{cs:?}");
        }
    }
}
