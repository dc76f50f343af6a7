//! The JSON tree the v2 -> FHIR maps build, and its serializer.
//!
//! Why not `serde_json::Value`: with `preserve_order` every object is an
//! IndexMap that allocates each key and SipHashes it on insert, and that
//! tree was most of the translation cost. Here an object is a vector of
//! `(&'static str, Json)` pairs (keys are element names known at compile
//! time; objects are small, so a linear scan beats hashing), strings from
//! the code tables are borrowed, and [`Json::write`] writes the bytes
//! straight to a buffer. Element order is insertion order and the bytes
//! are the same as `serde_json::to_vec` of [`Json::to_value`] (a test over
//! the corpus checks it), so callers of the old `Value` output see no
//! difference.
//!
//! Values that are complete when a data-type map builds them (references,
//! CodeableConcepts, Identifiers, names, addresses...) skip the tree: an
//! [`ObjWriter`] writes their bytes once and they travel as one
//! [`Json::Raw`] node, so they are not allocated node by node, walked and
//! freed again. Resources stay [`Obj`]s because maps merge into them after
//! creation.

use std::borrow::Cow;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Number;

// === impl Json ===

/// A JSON value under construction.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `true` / `false`.
    Bool(bool),
    /// A number, formatted as serde_json formats it.
    Number(Number),
    /// A string: borrowed from the message, a table or a constant, or
    /// owned (only when unescaping, decoding or formatting made new text).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object.
    Object(Obj<'a>),
    /// An object or array already written as compact JSON by an
    /// [`ObjWriter`]: data-type maps whose value is complete when built
    /// (a reference, a CodeableConcept from a table) write their bytes
    /// once instead of building nodes that are walked and freed later.
    /// Opaque: `get`/`at` see nothing inside.
    Raw(RawJson),
}

/// Compact JSON text written by [`ObjWriter`] (so always well formed; it
/// holds no floats, so parsing it back for [`Json::to_value`] gives the
/// same text again).
#[derive(Debug, Clone, PartialEq)]
pub struct RawJson(Vec<u8>);

impl<'a> Json<'a> {
    /// Member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(o) => o.get(key),
            _ => None,
        }
    }

    /// Element `i` of an array.
    pub fn at(&self, i: usize) -> Option<&Json<'a>> {
        match self {
            Json::Array(a) => a.get(i),
            _ => None,
        }
    }

    /// The same tree as a `serde_json::Value` (the translator's public
    /// output type).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.to_string()),
            Json::Array(a) => serde_json::Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => {
                let mut m = serde_json::Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    m.insert((*k).to_owned(), v.to_value());
                }
                serde_json::Value::Object(m)
            }
            // written by ObjWriter, so it parses; Null is unreachable
            Json::Raw(r) => serde_json::from_slice(&r.0).unwrap_or(serde_json::Value::Null),
        }
    }

    /// Appends the compact JSON text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(n) => write_number(n, out),
            Json::String(s) => write_str(s, out),
            Json::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write(out);
                }
                out.push(b']');
            }
            Json::Object(o) => o.write(out),
            Json::Raw(r) => out.extend_from_slice(&r.0),
        }
    }
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa_i64(i, &mut [0u8; 20]));
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(u.to_string().as_bytes());
    } else {
        // floats are rare (decimal results): let serde_json format them so
        // the text is exactly its own
        if serde_json::to_writer(&mut *out, n).is_err() {
            out.extend_from_slice(b"null");
        }
    }
}

/// Formats `i` into `buf`, returning the digits.
fn itoa_i64(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Whether a byte must be escaped in a JSON string (the same set as
/// serde_json: controls, `"` and `\`; everything else, UTF-8 included,
/// is written as is).
const fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of the 8 bytes in `w` may need escaping: a byte below
/// 0x20, a quote or a backslash (the classic "has zero byte" / "has less than"
/// word tricks). It never misses one; a rare false positive only sends the
/// word to the byte loop.
const fn word_may_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn has_zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    (below_space | has_zero(w ^ (ONES * 0x22)) | has_zero(w ^ (ONES * 0x5c))) != 0
}

/// Writes `s` as a JSON string literal, escaped as serde_json escapes.
/// Clinical text rarely needs escaping, so runs of plain bytes are found a
/// word at a time and copied whole.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    // Most strings are short codes, ids and names with nothing to escape:
    // a branch-free check over the whole string (it vectorises) and one
    // copy. Longer strings go through the word-at-a-time loop below.
    if bytes.len() <= 64 && !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if !word_may_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        let mut j = i;
        while j < end && !needs_escape(bytes[j]) {
            j += 1;
        }
        if j == end {
            i = end;
            continue;
        }
        i = j + 1;
        let b = bytes[j];
        out.extend_from_slice(&bytes[start..j]);
        start = j + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Json::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Json::Raw(_) => self.to_value().serialize(s),
        }
    }
}

impl From<String> for Json<'_> {
    fn from(s: String) -> Self {
        Json::String(Cow::Owned(s))
    }
}

impl<'a> From<&'a str> for Json<'a> {
    fn from(s: &'a str) -> Self {
        Json::String(Cow::Borrowed(s))
    }
}

impl<'a> From<Cow<'a, str>> for Json<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Json::String(s)
    }
}

impl From<bool> for Json<'_> {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<i64> for Json<'_> {
    fn from(i: i64) -> Self {
        Json::Number(i.into())
    }
}

impl From<u32> for Json<'_> {
    fn from(i: u32) -> Self {
        Json::Number(i.into())
    }
}

impl From<usize> for Json<'_> {
    fn from(i: usize) -> Self {
        Json::Number(i.into())
    }
}

impl From<Number> for Json<'_> {
    fn from(n: Number) -> Self {
        Json::Number(n)
    }
}

impl<'a> From<Obj<'a>> for Json<'a> {
    fn from(o: Obj<'a>) -> Self {
        Json::Object(o)
    }
}

impl<'a> From<Vec<Json<'a>>> for Json<'a> {
    fn from(a: Vec<Json<'a>>) -> Self {
        Json::Array(a)
    }
}

// === impl Obj ===

/// A JSON object: members in insertion order, keys from the FHIR element
/// names (static).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj<'a>(Vec<(&'static str, Json<'a>)>);

impl<'a> Obj<'a> {
    /// An empty object.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty object with room for `n` members.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Sets `key`; an existing member keeps its position (as IndexMap
    /// does) and its old value is returned.
    pub fn insert(&mut self, key: &'static str, value: Json<'a>) -> Option<Json<'a>> {
        match self.get_mut(key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// Member `key`.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }

    /// Member `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json<'a>> {
        self.0
            .iter_mut()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }

    /// Member `key`, inserted from `f` when missing.
    pub fn get_or_insert_with(
        &mut self,
        key: &'static str,
        f: impl FnOnce() -> Json<'a>,
    ) -> &mut Json<'a> {
        let i = match self.0.iter().position(|(k, _)| same_key(k, key)) {
            Some(i) => i,
            None => {
                self.0.push((key, f()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Whether member `key` exists.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    /// The member names in order.
    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(k, _)| *k)
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Member count.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces member `old` with `key` = `value` in the same position
    /// (appended when `old` is missing), returning `old`'s value: a
    /// `medicationCodeableConcept` that becomes a `medicationReference`
    /// keeps its place.
    pub fn replace_key(
        &mut self,
        old: &str,
        key: &'static str,
        value: Json<'a>,
    ) -> Option<Json<'a>> {
        match self.0.iter().position(|(k, _)| same_key(k, old)) {
            Some(i) => {
                let (_, prev) = std::mem::replace(&mut self.0[i], (key, value));
                Some(prev)
            }
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// Puts `key` first (removing a member of that name elsewhere): O(n)
    /// instead of rebuilding the object with a scan per member.
    pub fn prepend(&mut self, key: &'static str, value: Json<'a>) {
        self.0.retain(|(k, _)| *k != key);
        self.0.insert(0, (key, value));
    }

    /// Appends the compact JSON text to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // keys are FHIR element names from this crate's code: plain
            // ASCII letters, nothing to escape
            debug_assert!(!k.bytes().any(needs_escape));
            out.reserve(k.len() + 3);
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
            v.write(out);
        }
        out.push(b'}');
    }
}

// === impl ObjWriter ===

/// Writes one JSON object straight to bytes, member by member, for maps
/// whose value is complete when built. The caller writes each key once
/// (unlike [`Obj::insert`], nothing is replaced) and writes no floats
/// (see [`RawJson`]).
#[derive(Debug)]
pub struct ObjWriter {
    buf: Vec<u8>,
    /// Where the members start: 1 after `{`, 2 after `[{` (an object
    /// written as the one element of an array).
    start: usize,
}

impl Default for ObjWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjWriter {
    /// An empty object.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(96);
        buf.push(b'{');
        Self { buf, start: 1 }
    }

    /// An empty object that [`ObjWriter::finish`] closes as the one
    /// element of an array (`[{...}]`). Only for a member no map appends
    /// to later (a new Practitioner's identifier or name, a Location's
    /// identifier): [`push`] cannot add to a raw array.
    pub fn in_array() -> Self {
        let mut buf = Vec::with_capacity(96);
        buf.extend_from_slice(b"[{");
        Self { buf, start: 2 }
    }

    /// Starts member `key` (keys are element names: nothing to escape).
    fn key(&mut self, key: &'static str) {
        debug_assert!(!key.bytes().any(needs_escape));
        if self.buf.len() > self.start {
            self.buf.push(b',');
        }
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// Member `key`, a string.
    pub fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_str(value, &mut self.buf);
    }

    /// Member `key`, a string, when there is one.
    pub fn opt_str(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    /// Member `key`, any value (no floats: see [`RawJson`]).
    pub fn json(&mut self, key: &'static str, value: &Json<'_>) {
        self.key(key);
        value.write(&mut self.buf);
    }

    /// Member `key`, a Reference to `url` (`{"reference": url}`).
    pub fn reference(&mut self, key: &'static str, url: &str) {
        self.key(key);
        self.buf.extend_from_slice(b"{\"reference\":");
        write_str(url, &mut self.buf);
        self.buf.push(b'}');
    }

    /// Member `key`, the finished `value` (an object, or a one-object
    /// array from [`ObjWriter::in_array`]).
    pub fn raw(&mut self, key: &'static str, value: ObjWriter) {
        self.key(key);
        value.finish_into(&mut self.buf);
    }

    /// Member `key`, an array holding the one object `value`.
    pub fn array_of_one(&mut self, key: &'static str, value: ObjWriter) {
        self.key(key);
        self.buf.push(b'[');
        value.finish_into(&mut self.buf);
        self.buf.push(b']');
    }

    /// Member `key`, an array of the two objects `a` and `b`.
    pub fn array_of_two(&mut self, key: &'static str, a: ObjWriter, b: ObjWriter) {
        self.key(key);
        self.buf.push(b'[');
        a.finish_into(&mut self.buf);
        self.buf.push(b',');
        b.finish_into(&mut self.buf);
        self.buf.push(b']');
    }

    /// Member `key`, an array of strings (written even when empty).
    pub fn str_array<S: AsRef<str>>(&mut self, key: &'static str, values: &[S]) {
        self.key(key);
        self.buf.push(b'[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            write_str(v.as_ref(), &mut self.buf);
        }
        self.buf.push(b']');
    }

    /// Appends the finished value to `out`.
    fn finish_into(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf);
        out.push(b'}');
        if self.start == 2 {
            out.push(b']');
        }
    }

    /// The finished object (or one-object array, see
    /// [`ObjWriter::in_array`]).
    pub fn finish(mut self) -> Json<'static> {
        self.buf.push(b'}');
        if self.start == 2 {
            self.buf.push(b']');
        }
        Json::Raw(RawJson(self.buf))
    }
}

/// Key equality with the cheap rejections first: most inserts add a new
/// key, so every member is compared and most differ in length or first
/// byte; only the rest pay for a `memcmp` call.
#[inline]
fn same_key(k: &str, key: &str) -> bool {
    k.len() == key.len() && k.as_bytes().first() == key.as_bytes().first() && k == key
}

/// Sets `key` when `value` is `Some`.
pub fn set_opt<'a>(obj: &mut Obj<'a>, key: &'static str, value: Option<impl Into<Json<'a>>>) {
    if let Some(v) = value {
        obj.insert(key, v.into());
    }
}

/// Sets `key` to `value`.
pub fn set<'a>(obj: &mut Obj<'a>, key: &'static str, value: impl Into<Json<'a>>) {
    obj.insert(key, value.into());
}

/// Appends `value` to the array at `key`, creating it.
pub fn push<'a>(obj: &mut Obj<'a>, key: &'static str, value: impl Into<Json<'a>>) {
    let slot = obj.get_or_insert_with(key, || Json::Array(Vec::new()));
    // members that maps append to are built as arrays, never as raw
    // one-element arrays (see `ObjWriter::in_array`)
    debug_assert!(matches!(slot, Json::Array(_)), "push to non-array {key}");
    if let Json::Array(a) = slot {
        a.push(value.into());
    }
}

/// Appends every element of `values` to the array at `key` (nothing when empty).
pub fn extend<'a>(obj: &mut Obj<'a>, key: &'static str, values: Vec<Json<'a>>) {
    for v in values {
        push(obj, key, v);
    }
}

/// `{"reference": url}`.
pub fn reference<'a>(url: &str) -> Json<'a> {
    let mut o = ObjWriter::new();
    o.str("reference", url);
    o.finish()
}

/// A CodeableConcept with one coding.
pub fn concept<'a>(
    system: impl Into<Cow<'a, str>>,
    code: impl Into<Cow<'a, str>>,
    display: Option<&str>,
) -> Json<'a> {
    let mut c = ObjWriter::new();
    c.str("system", &system.into());
    c.str("code", &code.into());
    c.opt_str("display", display.filter(|d| !d.is_empty()));
    let mut cc = ObjWriter::new();
    cc.array_of_one("coding", c);
    cc.finish()
}

/// A FHIR decimal from v2 NM text: JSON number when it parses as one.
/// `+1.5` and `.5` are normalised the way FHIR's decimal grammar needs.
pub fn decimal<'a>(s: &str) -> Option<Json<'a>> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let owned;
    let t = if let Some(rest) = t.strip_prefix('.') {
        owned = format!("0.{rest}");
        owned.as_str()
    } else if let Some(rest) = t.strip_prefix("-.") {
        owned = format!("-0.{rest}");
        owned.as_str()
    } else {
        t
    };
    let digits_ok = !t.is_empty()
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
        && t.matches('.').count() <= 1
        && !t.ends_with('.');
    if !digits_ok {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Json::from(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Json::Number)
}

/// Standard base64 (RFC 4648) with padding, for Attachment.data.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal("42"), Some(Json::from(42i64)));
        let f = |x: f64| serde_json::Number::from_f64(x).map(Json::Number);
        assert_eq!(decimal("+4.5"), f(4.5));
        assert_eq!(decimal(".5"), f(0.5));
        assert_eq!(decimal("1.2.3"), None);
        assert_eq!(decimal("abc"), None);
        assert_eq!(decimal("5."), None);
    }

    fn compare(v: &Json<'_>) {
        let mut ours = Vec::new();
        v.write(&mut ours);
        let theirs = serde_json::to_vec(&v.to_value()).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        assert_eq!(serde_json::to_vec(v).unwrap_or_default(), theirs);
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut o = Obj::new();
        set(&mut o, "resourceType", "Patient");
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        set(&mut o, "controls", every_byte);
        set(&mut o, "utf8", "Zoë \u{2028} 名前 \u{1F600}".to_owned());
        set(&mut o, "int", -1234567890123i64);
        set(&mut o, "zero", 0i64);
        set(&mut o, "min", i64::MIN);
        set(&mut o, "big", serde_json::Number::from(u64::MAX));
        for x in [0.5, 1e-7, 123456789.125, -2.0, 1e300] {
            push(&mut o, "floats", decimal_or_float(x));
        }
        set(&mut o, "yes", true);
        set(&mut o, "no", false);
        set(&mut o, "empty", Json::Array(Vec::new()));
        set(&mut o, "emptyObj", Obj::new());
        compare(&Json::Object(o));
    }

    fn decimal_or_float(x: f64) -> Json<'static> {
        serde_json::Number::from_f64(x).map_or(Json::Bool(false), Json::Number)
    }

    #[test]
    fn escapes_at_every_offset_of_a_word() {
        for len in 0..20 {
            for pos in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '\u{7f}', ' '] {
                    let mut text: String = "abcdefghijklmnopqrstu".chars().take(len).collect();
                    text.replace_range(pos..=pos, &special.to_string());
                    let mut ours = Vec::new();
                    write_str(&text, &mut ours);
                    let theirs = serde_json::to_vec(&text).unwrap_or_default();
                    assert_eq!(ours, theirs, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn insert_keeps_position_like_indexmap() {
        let mut o = Obj::new();
        set(&mut o, "a", 1i64);
        set(&mut o, "b", 2i64);
        assert_eq!(o.insert("a", Json::from(3i64)), Some(Json::from(1i64)));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b"]);
        push(&mut o, "c", "x");
        push(&mut o, "c", "y");
        let mut out = Vec::new();
        o.write(&mut out);
        assert_eq!(out, br#"{"a":3,"b":2,"c":["x","y"]}"#);
        assert_eq!(
            o.replace_key("b", "d", Json::from(5i64)),
            Some(Json::from(2i64))
        );
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "d", "c"]);
        assert_eq!(o.replace_key("zz", "b", Json::from(2i64)), None);
        o.prepend("c", Json::from(true));
        o.prepend("z", Json::from(1i64));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["z", "c", "a", "d", "b"]);
    }

    #[test]
    fn obj_writer_writes_what_the_tree_writes() {
        // the same value built as a tree and written by ObjWriter
        let mut coding = Obj::new();
        set(&mut coding, "system", "http://x/\"quoted\"");
        set(&mut coding, "code", "a\nb");
        let mut tree = Obj::new();
        set(&mut tree, "coding", Json::Array(vec![Json::Object(coding)]));
        push(&mut tree, "given", "Zoë");
        push(&mut tree, "given", "Ann");
        set(&mut tree, "individual", reference("urn:uuid:1"));
        set(&mut tree, "rank", 2u32);
        let mut c = ObjWriter::in_array();
        c.str("system", "http://x/\"quoted\"");
        c.opt_str("display", None);
        c.str("code", "a\nb");
        let mut w = ObjWriter::new();
        w.raw("coding", c);
        w.str_array("given", &["Zoë", "Ann"]);
        w.reference("individual", "urn:uuid:1");
        w.json("rank", &Json::from(2u32));
        let raw = w.finish();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Json::Object(tree).write(&mut a);
        raw.write(&mut b);
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        // a raw node converts to the same Value and serialises the same
        compare(&raw);
        let mut pair = ObjWriter::new();
        pair.array_of_two("coding", ObjWriter::new(), ObjWriter::in_array());
        let mut out = Vec::new();
        pair.finish().write(&mut out);
        assert_eq!(out, br#"{"coding":[{},[{}]]}"#);
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
