//! One value of a message: a field, a repetition, a component or a
//! sub-component, as a slice of the input. Splitting and decoding happen
//! only when asked.

use std::borrow::Cow;

use super::charset::Charset;
use super::delimiters::Delimiters;
use super::escape::{unescape, EscapeWarning};

/// The level a [`Value`] sits at; it decides what "component 1" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A whole field, all repetitions.
    Field,
    /// One repetition of a field.
    Repetition,
    /// One component.
    Component,
    /// One sub-component.
    Subcomponent,
    /// MSH-1 and MSH-2: delimiters themselves, never split or unescaped.
    Literal,
}

/// A slice of the input at one level. `Copy`, borrows the input only.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    charset: Charset,
    level: Level,
}

// === impl Value ===

impl<'a> Value<'a> {
    #[inline]
    pub(crate) fn new(raw: &'a [u8], delims: Delimiters, charset: Charset, level: Level) -> Self {
        Self {
            raw,
            delims,
            charset,
            level,
        }
    }

    #[inline]
    fn empty_at(&self, level: Level) -> Self {
        Self::new(&[], self.delims, self.charset, level)
    }

    #[inline]
    fn at(&self, raw: &'a [u8], level: Level) -> Self {
        Self::new(raw, self.delims, self.charset, level)
    }

    /// Exactly the input bytes, still escaped and in the message charset.
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The level of this value.
    pub fn level(&self) -> Level {
        self.level
    }

    /// No bytes at all (an absent or empty value).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Exactly `""`: the HL7 explicit null ("delete this value"), which is
    /// not the same as an empty value ("no change / not sent").
    #[inline]
    pub fn is_null(&self) -> bool {
        self.raw == b"\"\""
    }

    /// Non-empty and not made only of component, repetition and
    /// sub-component separators (`^^^` carries nothing).
    pub fn has_value(&self) -> bool {
        if self.level == Level::Literal {
            return !self.raw.is_empty();
        }
        let d = &self.delims;
        self.raw
            .iter()
            .any(|&b| b != d.component && b != d.repetition && b != d.subcomponent)
    }

    /// The text: escapes decoded, then charset-decoded. Borrows from the
    /// input when neither changes anything. Malformed escapes are kept
    /// literally; use [`Value::text_checked`] to learn about them.
    pub fn text(&self) -> Cow<'a, str> {
        self.text_checked().0
    }

    /// Like [`Value::text`], also returning the first malformed escape.
    pub fn text_checked(&self) -> (Cow<'a, str>, Option<EscapeWarning>) {
        if self.level == Level::Literal {
            return (self.charset.decode(Cow::Borrowed(self.raw)), None);
        }
        let (bytes, warning) = unescape(self.raw, &self.delims);
        (self.charset.decode(bytes), warning)
    }

    /// The repetitions of a field (empty field: none). Below field level a
    /// value is its own single repetition.
    #[inline]
    pub fn repetitions(&self) -> Values<'a> {
        match self.level {
            Level::Field => Values::split(*self, self.delims.repetition, Level::Repetition),
            _ => Values::single(*self),
        }
    }

    /// Repetition `n` (1-based); empty if absent.
    #[inline]
    pub fn repetition(&self, n: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.nth(n, self.delims.repetition, Level::Repetition),
            _ if n == 1 => *self,
            _ => self.empty_at(self.level),
        }
    }

    /// Component `n` (1-based); on a field, of its *first* repetition. A
    /// component or sub-component is its own component 1.
    #[inline]
    pub fn component(&self, n: usize) -> Value<'a> {
        match self.level {
            // one pass that stops at the first repetition separator,
            // instead of finding the first repetition and then splitting it
            Level::Field => self.nth_before(
                n,
                self.delims.component,
                self.delims.repetition,
                self.delims.repetition,
                Level::Component,
            ),
            Level::Repetition => self.nth(n, self.delims.component, Level::Component),
            _ if n == 1 => *self,
            _ => self.empty_at(Level::Component),
        }
    }

    /// The components (of the first repetition, on a field).
    #[inline]
    pub fn components(&self) -> Values<'a> {
        match self.level {
            Level::Field | Level::Repetition => Values::split(
                self.first_repetition(),
                self.delims.component,
                Level::Component,
            ),
            _ => Values::single(*self),
        }
    }

    /// The components (of the first repetition, on a field) split once, for
    /// reading many of them.
    #[inline]
    pub fn indexed(&self) -> Components<'a> {
        Components::of(self)
    }

    /// Sub-component `n` (1-based); on a field or repetition, of its first
    /// component.
    #[inline]
    pub fn subcomponent(&self, n: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.nth_before(
                n,
                self.delims.subcomponent,
                self.delims.component,
                self.delims.repetition,
                Level::Subcomponent,
            ),
            Level::Repetition => self.nth_before(
                n,
                self.delims.subcomponent,
                self.delims.component,
                self.delims.component,
                Level::Subcomponent,
            ),
            Level::Component => self.nth(n, self.delims.subcomponent, Level::Subcomponent),
            _ if n == 1 => *self,
            _ => self.empty_at(Level::Subcomponent),
        }
    }

    /// The sub-components (of the first component, above component level).
    #[inline]
    pub fn subcomponents(&self) -> Values<'a> {
        match self.level {
            Level::Field | Level::Repetition | Level::Component => Values::split(
                self.first_component(),
                self.delims.subcomponent,
                Level::Subcomponent,
            ),
            _ => Values::single(*self),
        }
    }

    /// The repetition-level view: the first repetition of a field, else self.
    #[inline]
    fn first_repetition(&self) -> Value<'a> {
        match self.level {
            Level::Field => self.at(
                first_piece(self.raw, self.delims.repetition),
                Level::Repetition,
            ),
            _ => *self,
        }
    }

    /// The component-level view: the first component of a field or
    /// repetition, else self.
    #[inline]
    fn first_component(&self) -> Value<'a> {
        match self.level {
            Level::Field | Level::Repetition => {
                let rep = self.first_repetition();
                self.at(
                    first_piece(rep.raw, self.delims.component),
                    Level::Component,
                )
            }
            _ => *self,
        }
    }

    /// The `n`-th (1-based) piece split on `sep` of the part of `raw`
    /// before the first `stop1` or `stop2` (higher-level separators), in
    /// one pass over the bytes.
    #[inline]
    fn nth_before(&self, n: usize, sep: u8, stop1: u8, stop2: u8, level: Level) -> Value<'a> {
        if n == 0 {
            return self.empty_at(level);
        }
        let raw = self.raw;
        let mut start = 0;
        let mut seen = 1;
        let mut end = raw.len();
        for (i, &b) in raw.iter().enumerate() {
            if b == sep {
                if seen == n {
                    return self.at(&raw[start..i], level);
                }
                seen += 1;
                start = i + 1;
            } else if b == stop1 || b == stop2 {
                end = i;
                break;
            }
        }
        if seen == n && end > start {
            self.at(&raw[start..end], level)
        } else {
            self.empty_at(level)
        }
    }

    /// The `n`-th (1-based) piece of `raw` split on `sep`.
    #[inline]
    fn nth(&self, n: usize, sep: u8, level: Level) -> Value<'a> {
        if n == 0 {
            return self.empty_at(level);
        }
        // One pass counting separators: maps read components 1, 2, 3...
        // of the same value, and a search call per piece (the `Values`
        // iterator) cost more than the bytes of a short value.
        let raw = self.raw;
        let mut start = 0;
        let mut seen = 1;
        for (i, &b) in raw.iter().enumerate() {
            if b == sep {
                if seen == n {
                    return self.at(&raw[start..i], level);
                }
                seen += 1;
                start = i + 1;
            }
        }
        if seen == n && !raw.is_empty() {
            self.at(&raw[start..], level)
        } else {
            self.empty_at(level)
        }
    }
}

// === impl Components ===

/// How many component boundaries [`Components`] records; components past
/// it are found by [`Value::component`] (no data type the maps read has
/// that many).
const INDEXED: usize = 32;

/// The components of a value (of its first repetition, on a field), split
/// once. Maps read components 1, 2, 3... of one value; each
/// [`Value::component`] call scans from the start, so a value with twenty
/// components was scanned twenty times.
#[derive(Debug, Clone, Copy)]
pub struct Components<'a> {
    /// The value the components are split from (repetition level), or the
    /// component or sub-component itself.
    whole: Value<'a>,
    /// Start of component `k + 1` in `whole.raw` (for `k < count`).
    starts: [u32; INDEXED],
    /// Components found (at most `INDEXED`).
    count: usize,
    /// Whether components follow the indexed ones.
    more: bool,
}

impl<'a> Components<'a> {
    fn of(v: &Value<'a>) -> Self {
        let mut c = Components {
            whole: *v,
            starts: [0; INDEXED],
            count: 0,
            more: false,
        };
        if !matches!(v.level, Level::Field | Level::Repetition) {
            return c;
        }
        let rep = v.first_repetition();
        c.whole = rep;
        if rep.raw.is_empty() || u32::try_from(rep.raw.len()).is_err() {
            return c;
        }
        c.count = 1;
        for (i, &b) in rep.raw.iter().enumerate() {
            if b == v.delims.component {
                if c.count == INDEXED {
                    c.more = true;
                    break;
                }
                // fits: the whole length fits in u32 (checked above)
                c.starts[c.count] = (i + 1) as u32;
                c.count += 1;
            }
        }
        c
    }

    /// Component `n` (1-based), as [`Value::component`] gives it.
    #[inline]
    pub fn get(&self, n: usize) -> Value<'a> {
        let w = &self.whole;
        if w.level != Level::Repetition {
            return w.component(n);
        }
        if n == 0 || n > self.count {
            return if self.more {
                w.component(n)
            } else {
                w.empty_at(Level::Component)
            };
        }
        let start = self.starts[n - 1] as usize;
        let end = if n < self.count {
            self.starts[n] as usize - 1
        } else if self.more {
            // the last indexed component ends at the next separator
            let rest = &w.raw[start..];
            start + super::scan::find(w.delims.component, rest).unwrap_or(rest.len())
        } else {
            w.raw.len()
        };
        w.at(&w.raw[start..end], Level::Component)
    }
}

impl PartialEq for Value<'_> {
    /// Values are equal when their raw bytes are; delimiters and level are
    /// context, not content.
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

/// The bytes before the first `sep` (all of `raw` when there is none).
#[inline]
fn first_piece(raw: &[u8], sep: u8) -> &[u8] {
    match super::scan::find(sep, raw) {
        Some(i) => &raw[..i],
        None => raw,
    }
}

/// Iterator over the pieces of a value split on one delimiter, in order.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
    template: Value<'a>,
    level: Level,
}

impl<'a> Values<'a> {
    #[inline]
    fn split(v: Value<'a>, sep: u8, level: Level) -> Self {
        Self {
            rest: (!v.raw.is_empty()).then_some(v.raw),
            sep,
            template: v,
            level,
        }
    }

    #[inline]
    fn single(v: Value<'a>) -> Self {
        // The field separator never occurs inside a value: one piece.
        Self::split(v, v.delims.field, v.level)
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = Value<'a>;

    #[inline]
    fn next(&mut self) -> Option<Value<'a>> {
        let rest = self.rest?;
        match super::scan::find(self.sep, rest) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(self.template.at(&rest[..i], self.level))
            }
            None => {
                self.rest = None;
                Some(self.template.at(rest, self.level))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(raw: &'static str) -> Value<'static> {
        Value::new(
            raw.as_bytes(),
            Delimiters::default(),
            Charset::Utf8,
            Level::Field,
        )
    }

    #[test]
    fn levels() {
        let f = field("a1^a2&s2~b1^b2");
        assert_eq!(f.repetitions().count(), 2);
        assert_eq!(f.repetition(2).raw(), b"b1^b2");
        assert_eq!(f.repetition(3).raw(), b"");
        assert_eq!(f.component(2).raw(), b"a2&s2");
        assert_eq!(f.repetition(2).component(2).raw(), b"b2");
        assert_eq!(f.component(2).subcomponent(2).raw(), b"s2");
        assert_eq!(f.subcomponent(1).raw(), b"a1");
        assert_eq!(f.component(0).raw(), b"");
        assert_eq!(f.component(1).component(1).raw(), b"a1");
        assert_eq!(f.component(1).component(2).raw(), b"");
        let comps: Vec<_> = f.components().map(|v| v.text().into_owned()).collect();
        assert_eq!(comps, ["a1", "a2&s2"]);
        let subs: Vec<_> = f
            .component(2)
            .subcomponents()
            .map(|v| v.text().into_owned())
            .collect();
        assert_eq!(subs, ["a2", "s2"]);
    }

    /// The one-pass accessors against splitting level by level with the
    /// iterators, over every string of up to 7 bytes from `a^~&`.
    #[test]
    fn one_pass_access_matches_splitting() {
        fn piece<'a>(mut it: Values<'a>, n: usize) -> &'a [u8] {
            n.checked_sub(1)
                .and_then(|i| it.nth(i))
                .map_or(&[][..], |v| v.raw())
        }
        let alphabet = [b'a', b'^', b'~', b'&'];
        for len in 0..=7u32 {
            for code in 0..4usize.pow(len) {
                let bytes: Vec<u8> = (0..len).map(|i| alphabet[(code >> (2 * i)) & 3]).collect();
                let f = Value::new(&bytes, Delimiters::default(), Charset::Utf8, Level::Field);
                let rep = f
                    .repetitions()
                    .next()
                    .unwrap_or(f.empty_at(Level::Repetition));
                let comp1 = rep.components().next();
                let (fi, ri) = (f.indexed(), rep.indexed());
                for n in 0..=5 {
                    assert_eq!(fi.get(n).raw(), f.component(n).raw(), "{bytes:?} {n}");
                    assert_eq!(ri.get(n).raw(), rep.component(n).raw(), "{bytes:?} {n}");
                    assert_eq!(
                        f.component(n).raw(),
                        piece(rep.components(), n),
                        "{bytes:?} {n}"
                    );
                    let subs = comp1.map_or(&[][..], |c| piece(c.subcomponents(), n));
                    assert_eq!(f.subcomponent(n).raw(), subs, "{bytes:?} {n}");
                    assert_eq!(rep.subcomponent(n).raw(), subs, "{bytes:?} {n}");
                }
            }
        }
    }

    /// Past the indexed components, and on components.
    #[test]
    fn indexed_beyond_the_index_and_below_fields() {
        let raw: Vec<String> = (1..=40).map(|i| format!("c{i}")).collect();
        let raw = raw.join("^");
        let f = Value::new(
            raw.as_bytes(),
            Delimiters::default(),
            Charset::Utf8,
            Level::Field,
        );
        let idx = f.indexed();
        for n in 0..=42 {
            assert_eq!(idx.get(n).raw(), f.component(n).raw(), "{n}");
        }
        let c = f.component(3);
        for n in 0..=2 {
            assert_eq!(c.indexed().get(n).raw(), c.component(n).raw());
        }
    }

    #[test]
    fn empty_null_has_value() {
        assert!(field("").is_empty());
        assert!(!field("").is_null());
        assert!(field("\"\"").is_null());
        assert!(field("\"\"").has_value());
        assert!(!field("^^~&").has_value());
        assert!(field("^x").has_value());
        assert_eq!(field("").repetitions().count(), 0);
        assert_eq!(field("~").repetitions().count(), 2);
    }

    #[test]
    fn text_decodes_escapes() {
        assert_eq!(field(r"a\S\b").text(), "a^b");
        assert!(matches!(field("plain").text(), Cow::Borrowed("plain")));
        let (t, w) = field(r"bad\X4").text_checked();
        assert_eq!(t, r"bad\X4");
        assert!(w.is_some());
    }
}
