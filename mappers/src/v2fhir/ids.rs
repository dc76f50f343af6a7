//! Deterministic resource ids and fullUrls.
//!
//! The same message must give byte-identical output, and a replayed message
//! must address the same resources, so ids are derived from content: a
//! SHA-256 over the parts (resource type plus business identifier, or the
//! sending facility, control id and segment position), formatted as a
//! UUID (version 8, "custom", RFC 9562) for `urn:uuid:` fullUrls.

use sha2::{Digest, Sha256};

/// The 128 bits behind [`uuid`] (version and variant bits set), for
/// comparing ids without formatting them.
pub fn digest(parts: &[&str]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

/// Appends the 8-4-4-4-12 lowercase hex form of `b` to `out`.
pub fn push_uuid(b: &[u8; 16], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// A UUID string derived from `parts` (joined with a unit separator so
/// `["ab","c"]` and `["a","bc"]` differ).
pub fn uuid(parts: &[&str]) -> String {
    let mut out = String::with_capacity(36);
    push_uuid(&digest(parts), &mut out);
    out
}

/// Percent-encodes a value for a FHIR search URL (`Patient?identifier=s|v`).
/// Unreserved characters stay; everything else, `|` included, is escaped so
/// a `|` inside a system or value cannot split the token.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_query_escaped(s, &mut out);
    out
}

/// [`query_escape`] appending to `out`.
pub fn push_query_escaped(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_stable_and_well_formed() {
        let a = uuid(&["Patient", "urn:oid:1.2", "42"]);
        assert_eq!(a, uuid(&["Patient", "urn:oid:1.2", "42"]));
        assert_ne!(a, uuid(&["Patient", "urn:oid:1.2", "43"]));
        assert_ne!(uuid(&["ab", "c"]), uuid(&["a", "bc"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        // the formatting matches the hex crate's (the ids of earlier output)
        let d = digest(&["Patient", "urn:oid:1.2", "42"]);
        let x = hex::encode(d);
        let old = format!(
            "{}-{}-{}-{}-{}",
            &x[..8],
            &x[8..12],
            &x[12..16],
            &x[16..20],
            &x[20..]
        );
        assert_eq!(a, old);
    }

    #[test]
    fn query_escape_protects_separators() {
        assert_eq!(query_escape("a|b c&d"), "a%7Cb%20c%26d");
        assert_eq!(query_escape("urn:oid:1.2"), "urn:oid:1.2");
        assert_eq!(query_escape("é\n"), "%C3%A9%0A");
    }
}
