//! Methods the gateway refuses itself, on every path (both HTTP/1.1
//! engines and h2), before routing: `CONNECT` and `TRACE`, 405 with an
//! OperationOutcome and an `Allow` header (RFC 9110 section 15.5.6 wants
//! one on a 405).
//!
//! Why:
//! - `CONNECT` (RFC 9110 section 9.3.6) asks for a tunnel; the gateway is
//!   a reverse proxy in front of FHIR/openEHR backends and tunnels to no
//!   one. Forwarded, the backend's 2xx would turn the rest of the client
//!   connection into opaque bytes, so the request is answered here and the
//!   connection then closes: the bytes after a `CONNECT` head may be
//!   tunnel data the client sent ahead (a TLS ClientHello), never a next
//!   request.
//! - `TRACE` (section 9.3.8) echoes the request back, headers included:
//!   behind the gateway that reflects `Authorization`, cookies and the
//!   forwarding headers the gateway adds (cross-site tracing). No route
//!   option turns it on: diagnosing a route is what the request id and the
//!   access log are for. A `TRACE` body is read and dropped like any
//!   refused request's, so the connection is kept.
//!
//! nginx 1.22 does the same: 405 to both (`client sent TRACE method`,
//! `client sent CONNECT method`).

use http::Method;

use super::error::ProxyError;

/// The `Allow` value of the 405: the methods the gateway forwards.
pub const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Refuses `CONNECT` and `TRACE`.
pub fn check(method: &Method) -> Result<(), ProxyError> {
    if method == Method::CONNECT || method == Method::TRACE {
        return Err(ProxyError::MethodNotAllowed {
            method: method.clone(),
        });
    }
    Ok(())
}

/// Whether the connection must close after the answer (see the module
/// doc: only `CONNECT`).
pub fn closes_connection(method: &Method) -> bool {
    method == Method::CONNECT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_and_trace_are_refused_the_rest_pass() {
        for m in [Method::CONNECT, Method::TRACE] {
            assert!(matches!(
                check(&m),
                Err(ProxyError::MethodNotAllowed { .. })
            ));
        }
        for m in [Method::GET, Method::POST, Method::OPTIONS, Method::DELETE] {
            assert!(check(&m).is_ok());
        }
        assert!(closes_connection(&Method::CONNECT));
        assert!(!closes_connection(&Method::TRACE));
    }
}
