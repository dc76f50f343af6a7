//! The request target's path, made safe to route on and to forward, on
//! every path (both HTTP/1.1 engines and h2) before the tenant and the
//! route are chosen:
//! - dot segments (`.`, `..`) are resolved as RFC 3986 section 5.2.4 says
//!   ([`remove_dot_segments`]), so routing, the tenant's path prefix and
//!   the backend all read the same path, and a route's or backend's base
//!   path cannot be walked out of (`/north/../south` is `/south`, for the
//!   gateway and the backend alike). A path that climbs above the root
//!   (`/../x`) resolves to `/x`, as the RFC says;
//! - a dot segment in disguise is refused: a segment that would be `.` or
//!   `..` once `%2e`, `%2f` and `%5c` are decoded and `/` and `\` split it
//!   (`%2e%2e`, `.%2E`, `..%2f`, `a%2f..%2fb`, `..\`). The gateway does
//!   not decode the path (the backend gets its bytes), so it cannot resolve
//!   these the way a decoding backend would; refusing is the only reading
//!   both sides agree on;
//! - with `[server] reject_encoded_slash` (the default) an encoded slash
//!   (`%2F`), an encoded backslash (`%5C`) or a raw backslash is refused:
//!   backends differ on whether they split on them (IIS and Tomcat treat
//!   `\` as `/`, some decode `%2F` before routing), so the path the gateway
//!   routed on would not be the one served;
//! - an encoded control byte (`%00`-`%1F`, `%7F`) is refused (a NUL
//!   truncates paths in C backends; raw ones never get past the parsers)
//!   and so is a `%` not followed by two hex digits (no two readings of
//!   one byte).
//!
//! The query is never looked at and is forwarded byte for byte. A fragment
//! (`#`) is refused by the native engine, which sees the raw target
//! ([`super::h1::request`]); hyper's parser drops it before this runs.

use std::borrow::Cow;

use ehrgate_templates::fault::{Classified, Fault};
use http::request::Parts;
use http::uri::{PathAndQuery, Uri};

/// Why a request target is refused. The messages never repeat the path
/// (it may carry a patient id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A segment would be `.` or `..` once decoded.
    #[error("the request path has a dot segment in percent-encoded form or split by an encoded slash or a backslash; send it resolved")]
    EncodedDotSegment,
    /// `%2F`, `%5C` or `\` in the path, refused by `[server] reject_encoded_slash`.
    #[error("the request path has an encoded slash (%2F), an encoded backslash (%5C) or a backslash; refused by [server] reject_encoded_slash")]
    EncodedSlash,
    /// An encoded control byte.
    #[error("the request path has an encoded control byte (%00-%1F or %7F)")]
    ControlByte,
    /// A `%` without two hex digits.
    #[error("the request path has a % not followed by two hex digits")]
    BadPercentEncoding,
    /// A `#` fragment in the request target (RFC 9112 section 3.2 has none).
    #[error("the request target has a fragment (#); fragments are not sent in requests")]
    Fragment,
}

impl Classified for TargetError {
    fn fault(&self) -> Fault {
        Fault::Client
    }
    fn code(&self) -> &'static str {
        match self {
            TargetError::EncodedDotSegment => "request.encoded-dot-segment",
            TargetError::EncodedSlash => "request.encoded-slash",
            TargetError::ControlByte => "request.control-byte",
            TargetError::BadPercentEncoding => "request.bad-percent-encoding",
            TargetError::Fragment => "request.fragment",
        }
    }
}

/// Checks the target's path and replaces it by its resolved form (scheme,
/// authority and query kept as they were).
pub fn normalise(parts: &mut Parts, reject_encoded_slash: bool) -> Result<(), TargetError> {
    let path = parts.uri.path();
    // asterisk-form (`OPTIONS *`) and an empty h2 path have no segments
    if !path.starts_with('/') {
        return Ok(());
    }
    check(path, reject_encoded_slash)?;
    let Cow::Owned(resolved) = remove_dot_segments(path) else {
        return Ok(());
    };
    let pq = match parts.uri.query() {
        Some(q) => format!("{resolved}?{q}"),
        None => resolved,
    };
    // Only dot segments were removed from a path `http` parsed: it parses.
    let pq = PathAndQuery::try_from(pq).map_err(|_| TargetError::BadPercentEncoding)?;
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.path_and_query = Some(pq);
    parts.uri = Uri::from_parts(uri).map_err(|_| TargetError::BadPercentEncoding)?;
    Ok(())
}

/// The refusals of the module doc, segment by segment.
fn check(path: &str, reject_encoded_slash: bool) -> Result<(), TargetError> {
    let b = path.as_bytes();
    // Every refusal starts at a `%` or a `\\` (nearly every request has
    // neither: one vectorised search and done).
    if memchr::memchr2(b'%', b'\\', b).is_none() {
        return Ok(());
    }
    let mut slashy = false;
    // Only a `%` or a `\\` can disguise a dot segment: without one (nearly
    // every request) the segment walk below is skipped.
    let mut disguise = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                disguise = true;
                let (Some(h), Some(l)) = (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) else {
                    return Err(TargetError::BadPercentEncoding);
                };
                match h << 4 | l {
                    0x00..=0x1f | 0x7f => return Err(TargetError::ControlByte),
                    b'/' | b'\\' => slashy = true,
                    _ => {}
                }
                i += 3;
            }
            b'\\' => {
                slashy = true;
                disguise = true;
                i += 1;
            }
            _ => i += 1,
        }
    }
    // Dot segments in disguise first: they are refused whatever the switch.
    if disguise {
        for segment in b.split(|&c| c == b'/') {
            if segment.iter().any(|&c| c == b'%' || c == b'\\') && disguised_dot_segment(segment) {
                return Err(TargetError::EncodedDotSegment);
            }
        }
    }
    if slashy && reject_encoded_slash {
        return Err(TargetError::EncodedSlash);
    }
    Ok(())
}

/// Whether `segment`, with `%2e` / `%2f` / `%5c` decoded and split on `/`
/// and `\`, has a piece that is `.` or `..`.
fn disguised_dot_segment(segment: &[u8]) -> bool {
    // Count the dots of the current piece; `None` once it holds anything
    // else.
    let mut dots: Option<u8> = Some(0);
    let mut i = 0;
    loop {
        let (byte, step) = match segment.get(i) {
            None => (None, 0),
            Some(b'%') => {
                let v = match (segment.get(i + 1), segment.get(i + 2)) {
                    (Some(h), Some(l)) => hex(*h).zip(hex(*l)).map(|(h, l)| h << 4 | l),
                    _ => None,
                };
                (Some(v.unwrap_or(b'%')), 3)
            }
            Some(c) => (Some(*c), 1),
        };
        match byte {
            None | Some(b'/' | b'\\') => {
                if matches!(dots, Some(1 | 2)) {
                    return true;
                }
                if byte.is_none() {
                    return false;
                }
                dots = Some(0);
            }
            Some(b'.') => dots = dots.map(|d| d.saturating_add(1)),
            Some(_) => dots = None,
        }
        i += step;
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `remove_dot_segments` of RFC 3986 section 5.2.4, step by step as the RFC
/// writes it (rules A to E), on absolute and relative paths. Borrowed when
/// the path has no dot segment (the common case: no allocation).
pub fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    if !has_dot_segment(path) {
        return Cow::Borrowed(path);
    }
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            // A
            input = rest;
        } else if input.starts_with("/./") {
            // B: "/./" -> "/"
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            // C: "/../" -> "/", and the last output segment goes
            input = if input == "/.." { "/" } else { &input[3..] };
            let cut = output.rfind('/').unwrap_or(0);
            output.truncate(cut);
        } else if input == "." || input == ".." {
            // D
            input = "";
        } else {
            // E: the first segment (with its leading "/") moves to the output
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    Cow::Owned(output)
}

/// Whether any `/`-separated segment is `.` or `..`.
/// One pass over the bytes: a `.` that starts a segment and is followed by
/// the segment's end, or by one more `.` and the end (this runs on every
/// request; a `split` costs several times as much).
fn has_dot_segment(path: &str) -> bool {
    let b = path.as_bytes();
    if memchr::memchr(b'.', b).is_none() {
        return false;
    }
    let ends_segment = |i: usize| b.get(i).is_none_or(|&c| c == b'/');
    b.iter().enumerate().any(|(i, &c)| {
        c == b'.'
            && (i == 0 || b[i - 1] == b'/')
            && (ends_segment(i + 1) || (b.get(i + 1) == Some(&b'.') && ends_segment(i + 2)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3986_section_5_2_4_examples() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
    }

    #[test]
    fn rfc_3986_section_5_4_resolved_paths() {
        // The paths of the section 5.4 examples (base "/b/c/d;p"), merged
        // as section 5.2.3 says, then resolved.
        for (merged, resolved) in [
            ("/b/c/./g", "/b/c/g"),
            ("/b/c/g/", "/b/c/g/"),
            ("/b/c/.", "/b/c/"),
            ("/b/c/./", "/b/c/"),
            ("/b/c/..", "/b/"),
            ("/b/c/../", "/b/"),
            ("/b/c/../g", "/b/g"),
            ("/b/c/../..", "/"),
            ("/b/c/../../", "/"),
            ("/b/c/../../g", "/g"),
            ("/b/c/../../../g", "/g"),
            ("/b/c/../../../../g", "/g"),
            ("/./g", "/g"),
            ("/../g", "/g"),
            ("/b/c/g.", "/b/c/g."),
            ("/b/c/.g", "/b/c/.g"),
            ("/b/c/g..", "/b/c/g.."),
            ("/b/c/..g", "/b/c/..g"),
            ("/b/c/./../g", "/b/g"),
            ("/b/c/./g/.", "/b/c/g/"),
            ("/b/c/g/./h", "/b/c/g/h"),
            ("/b/c/g/../h", "/b/c/h"),
            ("/b/c/g;x=1/./y", "/b/c/g;x=1/y"),
            ("/b/c/g;x=1/../y", "/b/c/y"),
        ] {
            assert_eq!(remove_dot_segments(merged), resolved, "{merged}");
        }
    }

    #[test]
    fn a_path_without_dot_segments_is_borrowed() {
        for p in ["/", "/fhir/Patient/1", "/a.b/..c/.d./", "//x//"] {
            assert!(matches!(remove_dot_segments(p), Cow::Borrowed(_)), "{p}");
        }
        assert_eq!(remove_dot_segments("//x/../y"), "//y");
        assert_eq!(remove_dot_segments(".."), "");
    }

    #[test]
    fn refusals() {
        use TargetError::*;
        for (path, strict, want) in [
            ("/%2e%2e/x", true, Err(EncodedDotSegment)),
            ("/%2E./x", false, Err(EncodedDotSegment)),
            ("/a/%2e", false, Err(EncodedDotSegment)),
            ("/..%2fx", true, Err(EncodedDotSegment)),
            ("/..%2Fx", false, Err(EncodedDotSegment)),
            ("/x%5c..", false, Err(EncodedDotSegment)),
            ("/a%2f.%2fb", false, Err(EncodedDotSegment)),
            ("/..\\x", false, Err(EncodedDotSegment)),
            ("/a%2Fb", true, Err(EncodedSlash)),
            ("/a%5Cb", true, Err(EncodedSlash)),
            ("/a\\b", true, Err(EncodedSlash)),
            ("/a%2Fb", false, Ok(())),
            ("/a\\b", false, Ok(())),
            ("/a%00", false, Err(ControlByte)),
            ("/a%1f", false, Err(ControlByte)),
            ("/a%7F", false, Err(ControlByte)),
            ("/a%", false, Err(BadPercentEncoding)),
            ("/a%4", false, Err(BadPercentEncoding)),
            ("/a%g0", false, Err(BadPercentEncoding)),
            ("/a%2eb/...", true, Ok(())),
            ("/%2e%2e%2e", true, Ok(())),
            ("/a%20b/%C3%A9", true, Ok(())),
        ] {
            assert_eq!(check(path, strict), want, "{path} strict={strict}");
        }
    }

    fn parts(uri: &str) -> Parts {
        http::Request::get(uri).body(()).unwrap().into_parts().0
    }

    #[test]
    fn normalise_keeps_the_query_and_the_authority() {
        let mut p = parts("/fhir/x/../Patient?a=..%2f&b=/../");
        normalise(&mut p, true).unwrap();
        assert_eq!(p.uri, "/fhir/Patient?a=..%2f&b=/../");
        let mut p = parts("http://gw.example:81/a/./b/../c");
        normalise(&mut p, true).unwrap();
        assert_eq!(p.uri, "http://gw.example:81/a/c");
        let mut p = parts("*");
        normalise(&mut p, true).unwrap();
        assert_eq!(p.uri, "*");
        let mut p = parts("/plain");
        normalise(&mut p, true).unwrap();
        assert_eq!(p.uri, "/plain");
    }

    #[test]
    fn dot_segments_are_found_only_as_whole_segments() {
        for (path, want) in [
            ("/a/.b", false),
            ("/a/..b", false),
            ("/a/b.", false),
            ("/a/b../c", false),
            ("/1.2.3/x", false),
            ("/plain/Patient/p1", false),
            ("/.", true),
            (".", true),
            ("..", true),
            ("/a/../", true),
            ("/a/./b", true),
            ("/a/..", true),
        ] {
            assert_eq!(has_dot_segment(path), want, "{path}");
        }
    }
}
