//! Parsing one ER7 message into a compact index over the input.
//!
//! The parser finds segment boundaries (CR, LF or CRLF) with `memchr`,
//! checks names and limits, and records `(start, end)` offsets. Nothing is
//! copied or decoded: fields and values are sliced out on access.

use super::charset::{Charset, Declared};
use super::delimiters::Delimiters;
use super::error::{ParseError, ParseErrorKind, ParseWarning, PathError};
use super::limits::Limits;
use super::path::TerserPath;
use super::segment::Segment;
use super::value::Value;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A parsed message borrowing its input.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a [u8],
    delimiters: Delimiters,
    charset: Charset,
    /// `(start, end)` of each segment in `input`, terminator excluded.
    spans: Vec<(u32, u32)>,
    warnings: Vec<ParseWarning>,
}

// === impl Message ===

impl<'a> Message<'a> {
    /// Parses with [`Limits::default`].
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        Self::parse_with(input, &Limits::default())
    }

    /// Parses with explicit limits.
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
        let max_bytes = limits.max_message_bytes.min(u32::MAX as usize);
        if input.len() > max_bytes {
            return Err(ParseError::new(
                ParseErrorKind::MessageTooLarge { limit: max_bytes },
                max_bytes,
            ));
        }
        let had_bom = input.starts_with(BOM);
        let mut pos = if had_bom { BOM.len() } else { 0 };
        while pos < input.len() && matches!(input[pos], b'\r' | b'\n') {
            pos += 1;
        }
        if pos == input.len() {
            return Err(ParseError::new(ParseErrorKind::Empty, pos));
        }
        let rest = &input[pos..];
        if !rest.starts_with(b"MSH") {
            let kind = if rest.len() < 3 && b"MSH".starts_with(rest) {
                ParseErrorKind::TruncatedMsh
            } else {
                ParseErrorKind::NoMsh
            };
            return Err(ParseError::new(kind, pos));
        }
        let mut warnings = Vec::new();
        let msh_end = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
        let (delimiters, _) = Delimiters::from_msh(&rest[..msh_end], pos, &mut warnings)?;

        let spans = scan_segments(input, pos, &delimiters, limits)?;
        let mut msg = Message {
            input,
            delimiters,
            charset: Charset::Ascii,
            spans,
            warnings,
        };
        let declared = match msg.segment_at(0) {
            Some(msh) => Charset::from_msh18(msh.field(18).repetition(1).component(1).raw()),
            None => Declared::None,
        };
        let body = &input[if had_bom { BOM.len() } else { 0 }..];
        msg.charset = Charset::effective(declared, body, had_bom, &mut msg.warnings);
        Ok(msg)
    }

    /// The input as given to the parser (BOM included, if any).
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The delimiters declared in MSH-1/MSH-2.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The effective charset; see [the charset decision](super::charset).
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Doubtful things accepted while parsing.
    pub fn warnings(&self) -> &[ParseWarning] {
        &self.warnings
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.spans.len()
    }

    /// The segment at 0-based position `index`.
    pub fn segment_at(&self, index: usize) -> Option<Segment<'a>> {
        let &(start, end) = self.spans.get(index)?;
        let (start, end) = (start as usize, end as usize);
        Some(Segment::new(
            &self.input[start..end],
            index,
            start,
            self.delimiters,
            self.charset,
        ))
    }

    /// All segments in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + '_ {
        (0..self.spans.len()).filter_map(move |i| self.segment_at(i))
    }

    /// The segments called `name`, in order.
    pub fn segments_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Segment<'a>> + 's {
        let name = name.as_bytes();
        self.spans
            .iter()
            .enumerate()
            .filter(move |(_, &(s, e))| {
                let (s, e) = (s as usize, e as usize);
                e - s >= 3 && &self.input[s..s + 3] == name
            })
            .filter_map(move |(i, _)| self.segment_at(i))
    }

    /// The first segment called `name`.
    pub fn segment(&self, name: &str) -> Option<Segment<'a>> {
        self.segments_named(name).next()
    }

    /// The value at a terser path such as `PID-3(2)-1` or `OBX(3)-5-2`
    /// (all indexes 1-based). `Ok(None)` only when the segment occurrence
    /// is absent; a missing field or component gives an empty value.
    pub fn get(&self, path: &str) -> Result<Option<Value<'a>>, PathError> {
        let p = TerserPath::parse(path)?;
        Ok(self.resolve(&p))
    }

    /// [`Message::get`] with an already parsed path.
    pub fn resolve(&self, p: &TerserPath) -> Option<Value<'a>> {
        let seg = self.segments_named(p.segment()).nth(p.occurrence - 1)?;
        let mut v = seg.field(p.field);
        if let Some(r) = p.repetition {
            v = v.repetition(r);
        }
        if let Some(c) = p.component {
            v = v.component(c);
        }
        if let Some(s) = p.subcomponent {
            v = v.subcomponent(s);
        }
        Some(v)
    }

    fn msh_text(&self, f: impl Fn(Segment<'a>) -> Value<'a>) -> Option<String> {
        let v = f(self.segment_at(0)?);
        v.has_value().then(|| v.text().into_owned())
    }

    /// MSH-9-1, e.g. `"ADT"`.
    pub fn message_code(&self) -> Option<String> {
        self.msh_text(|s| s.field(9).component(1))
    }

    /// MSH-9-2, e.g. `"A01"`.
    pub fn trigger_event(&self) -> Option<String> {
        self.msh_text(|s| s.field(9).component(2))
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Option<String> {
        self.msh_text(|s| s.field(10))
    }

    /// MSH-12-1, e.g. `"2.5.1"`.
    pub fn version(&self) -> Option<String> {
        self.msh_text(|s| s.field(12).component(1))
    }

    /// Re-encodes the message: every segment exactly as read, each ended by
    /// a CR. Blank lines between segments and a BOM are not kept.
    pub fn write_er7(&self, out: &mut Vec<u8>) {
        out.reserve(self.input.len() + 1);
        for &(s, e) in &self.spans {
            out.extend_from_slice(&self.input[s as usize..e as usize]);
            out.push(b'\r');
        }
    }

    /// [`Message::write_er7`] into a new vector.
    pub fn to_er7(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_er7(&mut out);
        out
    }
}

/// Finds every segment from `pos` (the start of MSH), validating names and
/// checking limits as it goes.
fn scan_segments(
    input: &[u8],
    mut pos: usize,
    d: &Delimiters,
    limits: &Limits,
) -> Result<Vec<(u32, u32)>, ParseError> {
    // A cheap estimate: typical segments are 60-120 bytes.
    let mut spans = Vec::with_capacity((input.len() - pos) / 64 + 1);
    // A segment no longer than the smallest per-field limit cannot break
    // any of them: only long segments are examined field by field.
    let per_field_floor = limits
        .max_field_bytes
        .min(limits.max_repetitions)
        .min(limits.max_components);
    while pos < input.len() {
        let end = memchr::memchr2(b'\r', b'\n', &input[pos..]).map_or(input.len(), |i| pos + i);
        if end > pos {
            let seg = &input[pos..end];
            let index = spans.len();
            if index >= limits.max_segments {
                return Err(ParseError::new(
                    ParseErrorKind::TooManySegments {
                        limit: limits.max_segments,
                    },
                    pos,
                )
                .at_index(index));
            }
            check_name(seg, d, pos, index)?;
            if seg.len() > per_field_floor {
                check_fields(seg, d, limits, pos, index)?;
            }
            spans.push((pos as u32, end as u32));
        }
        pos = end + 1;
        if end < input.len() && input[end] == b'\r' && input.get(end + 1) == Some(&b'\n') {
            pos += 1;
        }
    }
    Ok(spans)
}

fn check_name(seg: &[u8], d: &Delimiters, offset: usize, index: usize) -> Result<(), ParseError> {
    let ok = seg.len() >= 3
        && seg[..3]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && seg[0].is_ascii_uppercase()
        && (seg.len() == 3 || seg[3] == d.field);
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(ParseErrorKind::BadSegmentName, offset).at_index(index))
    }
}

/// Checks field size, repetitions and components of every field of a long
/// segment: one pass over the segment.
fn check_fields(
    seg: &[u8],
    d: &Delimiters,
    limits: &Limits,
    offset: usize,
    index: usize,
) -> Result<(), ParseError> {
    let name = [seg[0], seg[1], seg[2]];
    let is_msh = &name == b"MSH";
    let mut start = 4;
    // MSH-2 holds the delimiters themselves; MSH-1 is not between separators.
    let mut seq = if is_msh { 2 } else { 1 };
    while start <= seg.len() {
        let end = memchr::memchr(d.field, &seg[start..]).map_or(seg.len(), |i| start + i);
        let field = &seg[start..end];
        let fail = |kind| {
            Err(ParseError::new(kind, offset + start)
                .at_named_segment(name, index)
                .at_field(seq))
        };
        if !(is_msh && seq == 2) {
            if field.len() > limits.max_field_bytes {
                return fail(ParseErrorKind::FieldTooLarge {
                    limit: limits.max_field_bytes,
                });
            }
            if field.len() > limits.max_repetitions
                && memchr::memchr_iter(d.repetition, field).count() + 1 > limits.max_repetitions
            {
                return fail(ParseErrorKind::TooManyRepetitions {
                    limit: limits.max_repetitions,
                });
            }
            if field.len() > limits.max_components
                && memchr::memchr2_iter(d.component, d.subcomponent, field).count() + 1
                    > limits.max_components
            {
                return fail(ParseErrorKind::TooManyComponents {
                    limit: limits.max_components,
                });
            }
        }
        start = end + 1;
        seq += 1;
    }
    Ok(())
}
