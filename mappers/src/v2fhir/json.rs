//! Small helpers for building FHIR JSON with `serde_json` (the workspace
//! enables `preserve_order`, so element order is the insertion order and
//! output is deterministic).

use serde_json::{Map, Value};

/// A JSON object under construction.
pub type Obj = Map<String, Value>;

/// Sets `key` when `value` is `Some`.
pub fn set_opt(obj: &mut Obj, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        obj.insert(key.to_owned(), v.into());
    }
}

/// Sets `key` to `value`.
pub fn set(obj: &mut Obj, key: &str, value: impl Into<Value>) {
    obj.insert(key.to_owned(), value.into());
}

/// Appends `value` to the array at `key`, creating it.
pub fn push(obj: &mut Obj, key: &str, value: impl Into<Value>) {
    let entry = obj
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = entry {
        a.push(value.into());
    }
}

/// Appends every element of `values` to the array at `key` (nothing when empty).
pub fn extend(obj: &mut Obj, key: &str, values: Vec<Value>) {
    for v in values {
        push(obj, key, v);
    }
}

/// `{"reference": url}`.
pub fn reference(url: &str) -> Value {
    let mut o = Obj::new();
    set(&mut o, "reference", url);
    Value::Object(o)
}

/// A CodeableConcept with one coding.
pub fn concept(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = Obj::new();
    set(&mut c, "system", system);
    set(&mut c, "code", code);
    set_opt(&mut c, "display", display.filter(|d| !d.is_empty()));
    let mut cc = Obj::new();
    set(&mut cc, "coding", Value::Array(vec![Value::Object(c)]));
    Value::Object(cc)
}

/// A FHIR decimal from v2 NM text: JSON number when it parses as one.
/// `+1.5` and `.5` are normalised the way FHIR's decimal grammar needs.
pub fn decimal(s: &str) -> Option<Value> {
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
        return Some(Value::from(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
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
        assert_eq!(decimal("42"), Some(Value::from(42)));
        assert_eq!(decimal("+4.5"), Some(Value::from(4.5)));
        assert_eq!(decimal(".5"), Some(Value::from(0.5)));
        assert_eq!(decimal("1.2.3"), None);
        assert_eq!(decimal("abc"), None);
        assert_eq!(decimal("5."), None);
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
