//! The `Host` rules of RFC 9112 section 3.2, applied to every request
//! before routing, on both HTTP/1.1 engines (and h2, where only the
//! repeated-Host and userinfo rules apply):
//! - more than one `Host` line, or a `Host` that is not a valid
//!   `uri-host [":" port]` (empty, or with userinfo, included): 400;
//! - an HTTP/1.1 request without `Host`: 400 (HTTP/1.0 may leave it out);
//! - an absolute-form target with userinfo: 400 (RFC 9110 section 4.2.4:
//!   `http` URIs with userinfo are refused, they serve phishing);
//! - an absolute-form target's authority replaces `Host` (section 3.2.2),
//!   so the tenant, `X-Forwarded-Host` and `Forwarded: host=` all follow the
//!   one value the gateway routed on.
//!
//! Why the gateway is strict here: it routes on the host (tenant by host)
//! and the backend may route on it again; two readings of one request must
//! never disagree.

use http::header::{self, HeaderValue};
use http::request::Parts;
use http::Version;

use super::error::ProxyError;

/// Checks `Host` and makes it the one authority of the request.
pub fn normalise(parts: &mut Parts) -> Result<(), ProxyError> {
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(ProxyError::BadHost);
    }
    if let Some(h) = host {
        // An empty Host is only for targets without an authority, which
        // no `http`/`https` URI is (RFC 9110 section 4.2.1): refused too.
        if !valid_authority(h.as_bytes()) {
            return Err(ProxyError::BadHost);
        }
    } else if parts.version == Version::HTTP_11 {
        return Err(ProxyError::BadHost);
    }
    let Some(authority) = parts.uri.authority() else {
        return Ok(());
    };
    if authority.as_str().contains('@') {
        return Err(ProxyError::BadHost);
    }
    // h2 carries `:authority` in the URI; HTTP/1.1 only with absolute-form.
    if parts.version != Version::HTTP_2 || host.is_some() {
        let v = HeaderValue::from_str(authority.as_str()).map_err(|_| ProxyError::BadHost)?;
        parts.headers.insert(header::HOST, v);
    }
    Ok(())
}

/// `uri-host [":" port]` (RFC 3986 section 3.2.2): an IP literal in
/// brackets, or a reg-name / IPv4 address of unreserved, pct-encoded and
/// sub-delim characters; then an optional all-digit port. Checked in
/// place: this runs on every request (no allocation, unlike parsing an
/// `http::uri::Authority`).
fn valid_authority(v: &[u8]) -> bool {
    let (host_ok, port) = match v.strip_prefix(b"[") {
        Some(rest) => {
            let Some(end) = rest.iter().position(|&b| b == b']') else {
                return false;
            };
            let literal = &rest[..end];
            let ok = !literal.is_empty()
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
            match &rest[end + 1..] {
                [] => (ok, None),
                [b':', port @ ..] => (ok, Some(port)),
                _ => return false,
            }
        }
        None => {
            let (host, port) = match v.iter().rposition(|&b| b == b':') {
                Some(i) => (&v[..i], Some(&v[i + 1..])),
                None => (v, None),
            };
            (!host.is_empty() && reg_name(host), port)
        }
    };
    host_ok && port.is_none_or(|p| p.iter().all(u8::is_ascii_digit))
}

/// The bytes a `reg-name` takes as they are: unreserved and sub-delims
/// (a table: this runs on every request's Host).
const REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    t
};

/// unreserved / pct-encoded / sub-delims (RFC 3986 `reg-name`).
fn reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            let hex = host.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !REG_NAME[usize::from(b)] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: Version, uri: &str, hosts: &[&str]) -> Parts {
        let mut b = http::Request::builder().version(version).uri(uri);
        for h in hosts {
            b = b.header(header::HOST, *h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn refuses_what_rfc_9112_refuses() {
        for (v, uri, hosts) in [
            (Version::HTTP_11, "/", &["a", "b"][..]),
            (Version::HTTP_10, "/", &["a", "a"]),
            (Version::HTTP_11, "/", &[]),
            (Version::HTTP_11, "/", &["u@a"]),
            (Version::HTTP_11, "/", &["a b"]),
            (Version::HTTP_11, "/", &["a:8x"]),
            (Version::HTTP_11, "/", &["a,b/c"]),
            (Version::HTTP_11, "/", &["[::1"]),
            (Version::HTTP_11, "/", &["[::1]x"]),
            (Version::HTTP_11, "/", &[":80"]),
            (Version::HTTP_11, "/", &["a%zz"]),
            (Version::HTTP_11, "http://u:p@a/x", &["a"]),
            (Version::HTTP_2, "http://u@a/x", &[]),
        ] {
            assert!(
                matches!(
                    normalise(&mut parts(v, uri, hosts)),
                    Err(ProxyError::BadHost)
                ),
                "{v:?} {uri} {hosts:?}"
            );
        }
    }

    #[test]
    fn the_target_authority_replaces_host() {
        let mut p = parts(Version::HTTP_11, "http://b.example:81/x", &["a.example"]);
        normalise(&mut p).unwrap();
        assert_eq!(p.headers[header::HOST], "b.example:81");
        let mut p = parts(Version::HTTP_10, "/x", &[]);
        normalise(&mut p).unwrap();
        assert!(p.headers.get(header::HOST).is_none());
        for ok in [
            "a.example",
            "a.example:8080",
            "[::1]:443",
            "[::1]",
            "10.0.0.1:80",
            "a%20b",
        ] {
            let mut p = parts(Version::HTTP_11, "/x", &[ok]);
            assert!(normalise(&mut p).is_ok(), "{ok}");
        }
        let mut p = parts(Version::HTTP_11, "/x", &[""]);
        assert!(normalise(&mut p).is_err());
        let mut p = parts(Version::HTTP_2, "https://b.example/x", &[]);
        normalise(&mut p).unwrap();
        assert!(p.headers.get(header::HOST).is_none());
    }
}
