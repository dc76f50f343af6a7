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

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// What the proxy knows about the client connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    /// The peer address.
    pub peer: SocketAddr,
    /// Whether the client connection is TLS.
    pub tls: bool,
}

/// Sets `Forwarded` and `X-Forwarded-For/-Proto/-Host`, appending our hop to
/// what earlier proxies wrote.
pub fn set_forwarded(headers: &mut HeaderMap, client: &ClientInfo, host: Option<&str>) {
    let proto = if client.tls { "https" } else { "http" };
    let ip = client.peer.ip();
    let for_node = if ip.is_ipv6() {
        format!("\"[{ip}]\"")
    } else {
        ip.to_string()
    };
    let mut forwarded = format!("for={for_node};proto={proto}");
    if let Some(h) = host.filter(|h| {
        h.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b';' && b != b',')
    }) {
        forwarded.push_str(";host=");
        forwarded.push_str(h);
    }
    append(headers, header::FORWARDED, &forwarded);
    append(
        headers,
        HeaderName::from_static("x-forwarded-for"),
        &ip.to_string(),
    );
    if let Ok(v) = HeaderValue::from_str(proto) {
        headers.insert(HeaderName::from_static("x-forwarded-proto"), v);
    }
    if let Some(h) = host.and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), h);
    }
}

/// Appends `value` to an existing comma-separated header, or sets it.
fn append(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.is_empty() => format!("{prev}, {value}"),
        _ => value.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
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
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn forwarded_appends_to_previous_hops() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        let client = ClientInfo {
            peer: "127.0.0.1:5000".parse().unwrap(),
            tls: true,
        };
        set_forwarded(&mut h, &client, Some("ehr.example"));
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "ehr.example");
        assert_eq!(
            h[header::FORWARDED],
            "for=127.0.0.1;proto=https;host=ehr.example"
        );
    }
}
