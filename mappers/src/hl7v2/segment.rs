//! One segment of a parsed message.

use super::charset::Charset;
use super::delimiters::Delimiters;
use super::value::{Level, Value};

/// A segment: its name, position and fields, as a slice of the input.
///
/// Fields are found on access by scanning the segment with `memchr`
/// (segments are short; this keeps `Segment` `Copy` and independent of the
/// [`Message`](super::Message) it came from).
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    name: &'a str,
    index: usize,
    byte_offset: usize,
    delims: Delimiters,
    charset: Charset,
}

// === impl Segment ===

impl<'a> Segment<'a> {
    pub(crate) fn new(
        raw: &'a [u8],
        index: usize,
        byte_offset: usize,
        delims: Delimiters,
        charset: Charset,
    ) -> Self {
        // The parser validated the first three bytes as ASCII.
        let name = raw
            .get(..3)
            .and_then(|n| std::str::from_utf8(n).ok())
            .unwrap_or("");
        Self {
            raw,
            name,
            index,
            byte_offset,
            delims,
            charset,
        }
    }

    /// The segment name: `"PID"`, `"ZPI"`.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// 0-based position in the message.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Offset of the segment's first byte in the input given to the parser.
    pub fn byte_offset(&self) -> usize {
        self.byte_offset
    }

    /// The segment's bytes without terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    fn is_msh(&self) -> bool {
        self.name == "MSH"
    }

    fn value(&self, raw: &'a [u8], level: Level) -> Value<'a> {
        Value::new(raw, self.delims, self.charset, level)
    }

    /// Field `seq` (HL7 sequence number, 1-based). For MSH, field 1 is the
    /// field separator and field 2 the encoding characters, both returned
    /// as literal values. Absent fields (and `seq == 0`) give an empty value.
    ///
    /// Each call scans the segment up to the field; to visit every field
    /// use [`Segment::fields`], which is one pass.
    pub fn field(&self, seq: usize) -> Value<'a> {
        let empty = self.value(&[], Level::Field);
        if seq == 0 {
            return empty;
        }
        if self.is_msh() {
            return match seq {
                1 => self.value(&self.raw[3..4], Level::Literal),
                2 => self
                    .part(1)
                    .map_or(empty, |p| self.value(p, Level::Literal)),
                _ => self
                    .part(seq - 1)
                    .map_or(empty, |p| self.value(p, Level::Field)),
            };
        }
        self.part(seq)
            .map_or(empty, |p| self.value(p, Level::Field))
    }

    /// The `k`-th piece (k >= 1) after the name, split on the field separator.
    fn part(&self, k: usize) -> Option<&'a [u8]> {
        let mut seps = memchr::memchr_iter(self.delims.field, self.raw);
        let start = seps.nth(k - 1)? + 1;
        let end = seps.next().unwrap_or(self.raw.len());
        Some(&self.raw[start..end])
    }

    /// The highest field sequence number present, trailing empty fields
    /// included (`PID|1||` has 3).
    pub fn field_count(&self) -> usize {
        let seps = memchr::memchr_iter(self.delims.field, self.raw).count();
        if self.is_msh() {
            seps + 1
        } else {
            seps
        }
    }

    /// `(seq, value)` for every field, seq 1-based, in order.
    #[inline]
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            segment: *self,
            rest: self.raw.get(4..).filter(|_| self.raw.len() > 3),
            next_seq: 1,
        }
    }
}

/// Iterator over the fields of a segment; see [`Segment::fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    segment: Segment<'a>,
    rest: Option<&'a [u8]>,
    next_seq: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (usize, Value<'a>);

    #[inline]
    fn next(&mut self) -> Option<(usize, Value<'a>)> {
        let seg = &self.segment;
        let seq = self.next_seq;
        if seg.is_msh() && seq == 1 {
            self.next_seq = 2;
            return Some((1, seg.value(&seg.raw[3..4], Level::Literal)));
        }
        let rest = self.rest?;
        let piece = match super::scan::find(seg.delims.field, rest) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                &rest[..i]
            }
            None => {
                self.rest = None;
                rest
            }
        };
        self.next_seq += 1;
        let level = if seg.is_msh() && seq == 2 {
            Level::Literal
        } else {
            Level::Field
        };
        Some((seq, seg.value(piece, level)))
    }
}
