//! Header rewriting between client and upstream: hop-by-hop removal
//! (RFC 9110 section 7.6.1), `Forwarded` (RFC 7239) and the `X-Forwarded-*`
//! family, and the decision headers on responses.

use std::net::SocketAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection and must not be forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("keep-alive"),
];

/// The response header naming the route that served a request.
pub const ROUTE_HEADER: HeaderName = HeaderName::from_static("x-ehrgate-route");
/// The response header naming the arm (stable / canary).
pub const ARM_HEADER: HeaderName = HeaderName::from_static("x-ehrgate-arm");

/// Headers a `Connection` header may not remove (RFC 9110 section 7.6.1
/// lets a sender name any header as hop-by-hop; obeying that for these
/// would let a client or backend unframe a message or strip what the
/// gateway decided on): the framing (`Content-Length`; `Transfer-Encoding`
/// is rewritten from the parsed framing anyway), `Host`, the credentials
/// and identity the gateway reads, and the forwarding chain it writes.
pub const PROTECTED: [HeaderName; 8] = [
    header::CONTENT_LENGTH,
    header::HOST,
    header::AUTHORIZATION,
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-user-id"),
];

/// Whether `name` (any case) is one a `Connection` header may not remove:
/// [`PROTECTED`] or one of `also` (the configured tenant and request-id
/// headers).
pub fn is_protected(name: &[u8], also: &[&HeaderName]) -> bool {
    PROTECTED
        .iter()
        .chain(also.iter().copied())
        .any(|p| p.as_str().as_bytes().eq_ignore_ascii_case(name))
}

/// Removes hop-by-hop headers, including those the `Connection` header
/// names, except the [`PROTECTED`] ones and `also`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, also: &[&HeaderName]) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .filter(|n| !is_protected(n.as_str().as_bytes(), also))
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    remove_all(headers, &HOP_BY_HOP);
}

/// Removes every header named in `names`. One pass over the (few) headers
/// present decides whether any is there; only then is each name looked up
/// and removed. This runs on every request and response, where almost
/// always none is present, and a `remove` hashes its name.
pub fn remove_all(headers: &mut HeaderMap, names: &[HeaderName]) {
    // Names of these lengths only (all are shorter than 64 bytes): most
    // headers present are ruled out by one bit test.
    let lengths = names.iter().fold(0u64, |m, n| {
        m | 1u64.checked_shl(n.as_str().len() as u32).unwrap_or(0)
    });
    let named = |k: &HeaderName| {
        let k = k.as_str();
        let bit = 1u64.checked_shl(k.len() as u32).unwrap_or(0);
        lengths & bit != 0 && names.iter().any(|n| n.as_str() == k)
    };
    if !headers.keys().any(named) {
        return;
    }
    for name in names {
        headers.remove(name);
    }
}

/// What the proxy knows about the client connection, with the forwarding
/// header values computed once per connection rather than per request.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The peer address.
    pub peer: SocketAddr,
    /// Whether the client connection is TLS.
    pub tls: bool,
    /// `X-Forwarded-For` value for this hop (the peer IP).
    xff: HeaderValue,
    /// `Forwarded` value for this hop (`for=...;proto=...`).
    forwarded: HeaderValue,
    /// `X-Forwarded-Proto` value.
    proto: HeaderValue,
}

// === impl ClientInfo ===

impl ClientInfo {
    /// Computes the forwarding values for a new connection.
    pub fn new(peer: SocketAddr, tls: bool) -> ClientInfo {
        let proto = if tls { "https" } else { "http" };
        let ip = peer.ip();
        let node = if ip.is_ipv6() {
            format!("\"[{ip}]\"")
        } else {
            ip.to_string()
        };
        let value =
            |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("unknown"));
        ClientInfo {
            peer,
            tls,
            xff: value(&ip.to_string()),
            forwarded: value(&format!("for={node};proto={proto}")),
            proto: HeaderValue::from_static(proto),
        }
    }
}

/// Sets `Forwarded` (RFC 7239, `for` and `proto`), `X-Forwarded-For`,
/// `-Proto` and `-Host`, appending our hop to what earlier proxies wrote.
/// `host` is the client's original `Host` (or `:authority`) value.
///
/// What is left of the chain came from a trusted proxy (an untrusted
/// peer's was removed before routing, [`super::trusted`]): its
/// `X-Forwarded-Proto` and `-Host` describe the original client, so they
/// are kept; ours are set only where none is left.
pub fn set_forwarded(headers: &mut HeaderMap, client: &ClientInfo, host: Option<HeaderValue>) {
    match host
        .as_ref()
        .and_then(|h| forwarded_with_host(&client.forwarded, h))
    {
        Some(with_host) => append(headers, header::FORWARDED, &with_host),
        None => append(headers, header::FORWARDED, &client.forwarded),
    }
    append(
        headers,
        HeaderName::from_static("x-forwarded-for"),
        &client.xff,
    );
    headers
        .entry(HeaderName::from_static("x-forwarded-proto"))
        .or_insert_with(|| client.proto.clone());
    if let Some(h) = host {
        headers
            .entry(HeaderName::from_static("x-forwarded-host"))
            .or_insert(h);
    }
}

/// `for=…;proto=…;host="…"` (RFC 7239 section 5.3). The host is always
/// quoted (it may carry a port, and `:` is not a token character); a host
/// holding a quote, backslash or non-ASCII byte is left out rather than
/// escaped, since no valid `Host` contains one.
fn forwarded_with_host(base: &HeaderValue, host: &HeaderValue) -> Option<HeaderValue> {
    let h = host.as_bytes();
    if h.is_empty()
        || h.iter()
            .any(|&b| b == b'"' || b == b'\\' || !(0x21..0x7f).contains(&b))
    {
        return None;
    }
    let mut v = Vec::with_capacity(base.len() + h.len() + 8);
    v.extend_from_slice(base.as_bytes());
    v.extend_from_slice(b";host=\"");
    v.extend_from_slice(h);
    v.push(b'"');
    HeaderValue::from_bytes(&v).ok()
}

/// Appends `value` to an existing comma-separated header, or sets it (the
/// common case, without allocating).
fn append(headers: &mut HeaderMap, name: HeaderName, value: &HeaderValue) {
    let joined = match headers.get(&name) {
        Some(prev) if !prev.is_empty() => {
            let mut v = Vec::with_capacity(prev.len() + 2 + value.len());
            v.extend_from_slice(prev.as_bytes());
            v.extend_from_slice(b", ");
            v.extend_from_slice(value.as_bytes());
            HeaderValue::from_bytes(&v).ok()
        }
        _ => Some(value.clone()),
    };
    if let Some(v) = joined {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_hop_by_hop_and_connection_named_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-secret".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert(header::ACCEPT, "application/fhir+json".parse().unwrap());
        remove_hop_by_hop(&mut h, &[]);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn connection_cannot_remove_protected_headers() {
        let mut h = HeaderMap::new();
        let tenant = HeaderName::from_static("x-tenant-id");
        h.insert(
            header::CONNECTION,
            "Content-Length, host, authorization, x-forwarded-for, X-Tenant-Id, x-other"
                .parse()
                .unwrap(),
        );
        for name in [
            "content-length",
            "host",
            "authorization",
            "x-forwarded-for",
            "x-tenant-id",
            "x-other",
        ] {
            h.insert(HeaderName::from_static(name), "1".parse().unwrap());
        }
        remove_hop_by_hop(&mut h, &[&tenant]);
        assert_eq!(h.len(), 5, "{h:?}");
        assert!(!h.contains_key("x-other") && !h.contains_key(header::CONNECTION));
    }

    #[test]
    fn forwarded_appends_to_previous_hops() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        let client = ClientInfo::new("127.0.0.1:5000".parse().unwrap(), true);
        set_forwarded(
            &mut h,
            &client,
            Some(HeaderValue::from_static("ehr.example")),
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "ehr.example");
        assert_eq!(
            h[header::FORWARDED],
            "for=127.0.0.1;proto=https;host=\"ehr.example\""
        );
    }

    #[test]
    fn a_trusted_proxys_proto_and_host_are_kept() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        h.insert("x-forwarded-host", "ehr.example".parse().unwrap());
        let client = ClientInfo::new("10.0.0.9:5000".parse().unwrap(), false);
        set_forwarded(&mut h, &client, Some(HeaderValue::from_static("gw:8080")));
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "ehr.example");
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
    }

    #[test]
    fn forwarded_leaves_out_a_host_it_cannot_quote() {
        let client = ClientInfo::new("[::1]:5000".parse().unwrap(), false);
        let mut h = HeaderMap::new();
        set_forwarded(&mut h, &client, Some(HeaderValue::from_static("a\"b")));
        assert_eq!(h[header::FORWARDED], "for=\"[::1]\";proto=http");
        let mut h = HeaderMap::new();
        set_forwarded(
            &mut h,
            &client,
            Some(HeaderValue::from_static("[::1]:8443")),
        );
        assert_eq!(
            h[header::FORWARDED],
            "for=\"[::1]\";proto=http;host=\"[::1]:8443\""
        );
    }

    #[test]
    fn remove_all_takes_the_named_headers_and_nothing_else() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("a"));
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        h.insert("x-forwarded-fox", HeaderValue::from_static("same length"));
        h.append(header::CONNECTION, HeaderValue::from_static("close"));
        h.append(header::CONNECTION, HeaderValue::from_static("x"));
        let names = [
            header::CONNECTION,
            HeaderName::from_static("x-forwarded-for"),
        ];
        remove_all(&mut h, &names);
        assert_eq!(h.len(), 2);
        assert!(h.contains_key(header::CONTENT_TYPE) && h.contains_key("x-forwarded-fox"));
        let before = h.clone();
        remove_all(&mut h, &names);
        assert_eq!(h, before, "nothing named: untouched");
    }
}
