//! The openEHR REST calls the facade makes, over the backend's upstream
//! pool (so TLS, timeouts, keep-alive and health are the proxy's own).
//!
//! Every call is bounded: the upstream's request timeout covers the whole
//! exchange and response bodies are read up to a limit. Error statuses
//! become [`FacadeError::Backend`] with the backend's own reason.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::error::FacadeError;
use crate::proxy::body::ProxyBody;
use crate::proxy::upstream::Upstream;

/// Query values are encoded except RFC 3986 unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Path segments keep `:` (a pchar in RFC 3986): version uids
/// (`uuid::system::2`) stay readable in the path.
const SEGMENT: &AsciiSet = &QUERY.remove(b':');

/// Longest backend reason passed on to the client.
const MAX_REASON: usize = 1000;

/// A response from the backend.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

// === impl Answer ===

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, FacadeError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| FacadeError::BadBackendAnswer(format!("body is not JSON ({e})")))
    }

    /// A header as text.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The openEHR REST client of one backend.
#[derive(Debug, Clone)]
pub struct OpenEhrClient {
    upstream: Arc<Upstream>,
    max_body: u64,
}

// === impl OpenEhrClient ===

impl OpenEhrClient {
    /// A client over `upstream`, reading bodies up to `max_body` bytes.
    pub fn new(upstream: Arc<Upstream>, max_body: u64) -> Self {
        OpenEhrClient { upstream, max_body }
    }

    /// The upstream (its base URL is the REST API's base).
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// Percent-encodes a query value.
    pub fn q(v: &str) -> String {
        utf8_percent_encode(v, QUERY).to_string()
    }

    /// Percent-encodes a path segment.
    pub fn seg(v: &str) -> String {
        utf8_percent_encode(v, SEGMENT).to_string()
    }

    /// One call; error statuses are returned as `Ok` (callers decide what
    /// a 404 means), transport failures as errors.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(header::HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<Answer, FacadeError> {
        let up = &self.upstream;
        if !up.health.available() {
            return Err(FacadeError::Unreachable("backend marked down"));
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let uri = up
            .uri_for(path, query)
            .map_err(|_| FacadeError::Internal("cannot build backend URI".into()))?;
        let mut req = Request::new(body.map_or_else(ProxyBody::empty, ProxyBody::full));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in headers {
            h.insert(k.clone(), v.clone());
        }
        let max = self.max_body as usize;
        let exchange = async {
            let resp = up
                .client()
                .request(req)
                .await
                .map_err(|_| FacadeError::Unreachable("connection failed"))?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, max)
                .collect()
                .await
                .map_err(|_| FacadeError::BadBackendAnswer("body too large or cut off".into()))?
                .to_bytes();
            Ok::<_, FacadeError>(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(up.request_timeout, exchange).await {
            Err(_) => {
                up.health.failure();
                Err(FacadeError::Unreachable("timeout"))
            }
            Ok(Err(e)) => {
                up.health.failure();
                Err(e)
            }
            Ok(Ok(a)) => {
                if a.status.is_server_error() {
                    up.health.failure();
                } else {
                    up.health.success();
                }
                Ok(a)
            }
        }
    }

    /// [`call`](Self::call) with a JSON body, turning error statuses into
    /// [`FacadeError::Backend`].
    pub async fn json_call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(header::HeaderName, HeaderValue)],
        body: Option<&Value>,
    ) -> Result<Answer, FacadeError> {
        let bytes = body.map(|b| Bytes::from(b.to_string()));
        let a = self.call(method, path_and_query, headers, bytes).await?;
        if a.status.is_success() {
            Ok(a)
        } else {
            Err(backend_error(&a))
        }
    }
}

/// The backend's reason for an error status: EHRbase answers
/// `{"error": ..., "message": ...}`; other servers plain text.
pub fn backend_error(a: &Answer) -> FacadeError {
    let reason = match serde_json::from_slice::<Value>(&a.body) {
        Ok(v) => ["message", "error", "diagnostics"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| v.to_string()),
        Err(_) => String::from_utf8_lossy(&a.body).into_owned(),
    };
    let mut reason = reason.trim().to_owned();
    if reason.is_empty() {
        reason = a
            .status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned();
    }
    if reason.len() > MAX_REASON {
        let mut cut = MAX_REASON;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    FacadeError::Backend {
        status: a.status.as_u16(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn backend_reason_is_taken_from_ehrbase_json() {
        let e = backend_error(&answer(
            422,
            r#"{"error":"Unprocessable Entity","message":"Invalid template"}"#,
        ));
        assert!(e.to_string().contains("Invalid template"), "{e}");
        let e = backend_error(&answer(500, ""));
        assert!(e.to_string().contains("Internal Server Error"), "{e}");
        let e = backend_error(&answer(400, &"x".repeat(5000)));
        assert!(e.to_string().len() < 1100);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(OpenEhrClient::q("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
