//! Splitting batch input into messages.
//!
//! [`split`] reads HL7 batch files: optional `FHS`/`BHS` headers and
//! `BTS`/`FTS` trailers around any number of messages, each starting with
//! `MSH`. Envelope segments are skipped, blank lines tolerated, and every
//! message is yielded with its 0-based index and its byte offset in the
//! input, as a slice ready for [`Message::parse`](super::Message::parse).
//!
//! [`split_lenient`] additionally reads hand-written sample files (such as
//! HAPI's `hapi-messages.txt`): `//` comment lines and `/* ... */` comment
//! blocks are skipped, and a blank line ends a message.
//!
//! Lines that belong to no message are not dropped silently: each run of
//! them yields an [`ParseErrorKind::OutsideMessage`] error with its offset,
//! and splitting continues after it.

use super::error::{ParseError, ParseErrorKind};

/// One message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem<'a> {
    /// 0-based position among the messages of the input.
    pub index: usize,
    /// Offset of the message's `MSH` in the input.
    pub byte_offset: usize,
    /// The message, from `MSH` to the end of its last segment (terminator
    /// excluded).
    pub bytes: &'a [u8],
}

/// Splits a standard batch file; see the module documentation.
pub fn split(input: &[u8]) -> Batch<'_> {
    Batch::new(input, false)
}

/// Splits a sample file with comments and blank-line separators.
pub fn split_lenient(input: &[u8]) -> Batch<'_> {
    Batch::new(input, true)
}

/// Iterator over the messages of a batch.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    input: &'a [u8],
    pos: usize,
    index: usize,
    lenient: bool,
    in_comment: bool,
}

/// One line: `[start, end)` without terminator, and where the next starts.
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Comment,
    Envelope,
    Msh,
    Other,
}

// === impl Batch ===

impl<'a> Batch<'a> {
    fn new(input: &'a [u8], lenient: bool) -> Self {
        let pos = if input.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Self {
            input,
            pos,
            index: 0,
            lenient,
            in_comment: false,
        }
    }

    fn line_at(&self, start: usize) -> Line {
        let rest = &self.input[start..];
        match memchr::memchr2(b'\r', b'\n', rest) {
            None => Line {
                start,
                end: self.input.len(),
                next: self.input.len(),
            },
            Some(i) => {
                let end = start + i;
                let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
                Line {
                    start,
                    end,
                    next: end + if crlf { 2 } else { 1 },
                }
            }
        }
    }

    /// Classifies a line, tracking `/* */` blocks in lenient mode.
    fn classify(&mut self, line: Line) -> LineKind {
        let text = &self.input[line.start..line.end];
        if self.lenient {
            let trimmed = text.trim_ascii_start();
            if self.in_comment {
                if memchr::memmem::find(text, b"*/").is_some() {
                    self.in_comment = false;
                }
                return LineKind::Comment;
            }
            if trimmed.starts_with(b"//") {
                return LineKind::Comment;
            }
            if trimmed.starts_with(b"/*") {
                self.in_comment = memchr::memmem::find(&trimmed[2..], b"*/").is_none();
                return LineKind::Comment;
            }
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return LineKind::Blank;
        }
        match text.get(..3) {
            Some(b"MSH") => LineKind::Msh,
            Some(b"FHS" | b"BHS" | b"BTS" | b"FTS") => LineKind::Envelope,
            _ => LineKind::Other,
        }
    }
}

impl<'a> Iterator for Batch<'a> {
    type Item = Result<BatchItem<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Skip to the next MSH, reporting stray content.
        let start = loop {
            if self.pos >= self.input.len() {
                return None;
            }
            let line = self.line_at(self.pos);
            match self.classify(line) {
                LineKind::Blank | LineKind::Comment | LineKind::Envelope => self.pos = line.next,
                LineKind::Msh => break line,
                LineKind::Other => {
                    // Report the whole run of stray lines once.
                    let offset = line.start;
                    self.pos = line.next;
                    while self.pos < self.input.len() {
                        let l = self.line_at(self.pos);
                        let saved = self.in_comment;
                        if self.classify(l) != LineKind::Other {
                            self.in_comment = saved;
                            break;
                        }
                        self.pos = l.next;
                    }
                    return Some(Err(ParseError::new(ParseErrorKind::OutsideMessage, offset)));
                }
            }
        };
        let mut end = start.end;
        self.pos = start.next;
        while self.pos < self.input.len() {
            let line = self.line_at(self.pos);
            let saved = self.in_comment;
            let kind = self.classify(line);
            let ends_message = match kind {
                LineKind::Msh | LineKind::Envelope => true,
                LineKind::Blank | LineKind::Comment => self.lenient,
                LineKind::Other => false,
            };
            if ends_message {
                // Re-classify from the same state on the next call.
                self.in_comment = saved;
                break;
            }
            if kind == LineKind::Other {
                end = line.end;
            }
            self.pos = line.next;
        }
        let item = BatchItem {
            index: self.index,
            byte_offset: start.start,
            bytes: &self.input[start.start..end],
        };
        self.index += 1;
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::*;

    #[test]
    fn envelope_with_three_messages() {
        let input = b"FHS|^~\\&|A\rBHS|^~\\&|A\rMSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1\rMSH|^~\\&|A||||||ADT^A02|2|P|2.5\r\rMSH|^~\\&|A||||||ADT^A03|3|P|2.5\rPID|3\rBTS|3\rFTS|1\r";
        let items: Vec<_> = split(input).collect::<Result<_, _>>().unwrap();
        assert_eq!(items.len(), 3);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.index, i);
            assert!(input[item.byte_offset..].starts_with(b"MSH"));
            let m = Message::parse(item.bytes).unwrap();
            assert_eq!(m.control_id(), Some((i + 1).to_string()));
        }
        assert_eq!(items[0].bytes, b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1");
        assert_eq!(items[1].bytes, b"MSH|^~\\&|A||||||ADT^A02|2|P|2.5");
    }

    #[test]
    fn plain_concatenation_with_lf() {
        let input =
            b"MSH|^~\\&|A||||||ADT^A01|1|P|2.5\nPID|1\nMSH|^~\\&|A||||||ADT^A02|2|P|2.5\nPID|2\n";
        let items: Vec<_> = split(input).map(Result::unwrap).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].byte_offset, 38);
    }

    #[test]
    fn stray_content_is_reported_not_dropped() {
        let input = b"garbage\nmore\nMSH|^~\\&|A\nPID|1\n";
        let items: Vec<_> = split(input).collect();
        assert_eq!(items.len(), 2);
        let err = items[0].as_ref().unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::OutsideMessage);
        assert_eq!(err.byte_offset(), 0);
        assert_eq!(items[1].as_ref().unwrap().byte_offset, 13);
    }

    #[test]
    fn lenient_skips_comments_and_splits_on_blank_lines() {
        let input = b"/*\n * header\n */\nMSH|^~\\&|A\nPID|1\n\n// note\nMSH|^~\\&|B\n/* x */\nMSH|^~\\&|C\n";
        let items: Vec<_> = split_lenient(input).map(Result::unwrap).collect();
        let ids: Vec<_> = items.iter().map(|i| i.bytes).collect();
        assert_eq!(
            ids,
            [&b"MSH|^~\\&|A\nPID|1"[..], b"MSH|^~\\&|B", b"MSH|^~\\&|C"]
        );
        // Strict mode reports the comments as stray content.
        assert!(split(input).any(|r| r.is_err()));
    }

    #[test]
    fn empty_and_bom_only() {
        assert_eq!(split(b"").count(), 0);
        assert_eq!(split(b"\xEF\xBB\xBF\r\n").count(), 0);
    }
}
