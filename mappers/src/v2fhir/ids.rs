//! Deterministic resource ids and fullUrls.
//!
//! The same message must give byte-identical output, and a replayed message
//! must address the same resources, so ids are derived from content: a
//! SHA-256 over the parts (resource type plus business identifier, or the
//! sending facility, control id and segment position), formatted as a
//! UUID (version 8, "custom", RFC 9562) for `urn:uuid:` fullUrls.

use sha2::{Digest, Sha256};

/// A UUID string derived from `parts` (joined with a unit separator so
/// `["ab","c"]` and `["a","bc"]` differ).
pub fn uuid(parts: &[&str]) -> String {
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
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// Percent-encodes a value for a FHIR search URL (`Patient?identifier=s|v`).
/// Unreserved characters stay; everything else, `|` included, is escaped so
/// a `|` inside a system or value cannot split the token.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    }

    #[test]
    fn query_escape_protects_separators() {
        assert_eq!(query_escape("a|b c&d"), "a%7Cb%20c%26d");
        assert_eq!(query_escape("urn:oid:1.2"), "urn:oid:1.2");
    }
}
