//! `[server] max_request_head` on every path that is not the native
//! engine's own byte count: hyper's HTTP/1.1 (`http1_engine = "hyper"`, and
//! connections the native engine hands to hyper, e.g. HTTP/1.0) and h2.
//!
//! Two layers, because neither is enough alone:
//! - hyper's read buffer is capped at the limit (`max_buf_size` in
//!   [`super::server`]), so a huge head is never buffered whole: hyper
//!   answers 431 itself. hyper's floor is 8 KiB, so a smaller limit is not
//!   exact there; a reload makes a new builder for the connections it
//!   accepts after it, while open connections keep the old buffer;
//! - this check, on the parsed head before routing, is exact to the bytes
//!   of the HTTP/1.1 head the request would have been (`METHOD target
//!   HTTP/1.1` CRLF, `name: value` CRLF per line, CRLF): over the limit is
//!   431 with an OperationOutcome, never forwarded.

use http::request::Parts;

use super::error::ProxyError;

/// Length of the request line and its trailing CRLF, beyond method and target.
const LINE_OVERHEAD: usize = " HTTP/1.1\r\n".len() + 1;

/// Refuses a head larger than `limit` bytes.
pub fn check(parts: &Parts, limit: usize) -> Result<(), ProxyError> {
    let target = match parts.uri.authority() {
        // absolute-form (or h2 :authority): the whole URI was sent
        Some(_) => parts.uri.to_string().len(),
        None => parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len()),
    };
    let mut size = parts.method.as_str().len() + target + LINE_OVERHEAD + 2;
    for (name, value) in &parts.headers {
        size += name.as_str().len() + value.len() + 4;
        if size > limit {
            return Err(ProxyError::HeadTooLarge { limit });
        }
    }
    if size > limit {
        return Err(ProxyError::HeadTooLarge { limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_head_as_http_1_1_bytes() {
        let raw = "GET /fhir/x HTTP/1.1\r\nhost: gw\r\nx-a: 12345\r\n\r\n";
        let parts = http::Request::get("/fhir/x")
            .header("host", "gw")
            .header("x-a", "12345")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(check(&parts, raw.len()).is_ok());
        assert!(matches!(
            check(&parts, raw.len() - 1),
            Err(ProxyError::HeadTooLarge { .. })
        ));
    }
}
