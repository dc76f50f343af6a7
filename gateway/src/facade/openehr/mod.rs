//! The openEHR REST client of one backend: every call the gateway makes to
//! an openEHR CDR (the FHIR facade, HL7 v2 feeds through it, the template
//! store) goes through here, so credentials, TLS, mTLS, timeouts, body
//! bounds and health bookkeeping are applied in one place.
//!
//! # Public API (kept stable for the contract suite against a real EHRbase)
//! Calls are named after the openEHR REST API (paths below the backend URL):
//!
//! | call | request |
//! |---|---|
//! | [`OpenEhrClient::create_ehr`] | `POST /ehr` with an EHR_STATUS; [`EhrCreated`] |
//! | [`OpenEhrClient::get_ehr_by_subject`] | `GET /ehr?subject_id=&subject_namespace=` -> EHR id |
//! | [`OpenEhrClient::get_ehr`], [`OpenEhrClient::get_ehr_status`] | `GET /ehr/{id}`, `GET /ehr/{id}/ehr_status` |
//! | [`OpenEhrClient::create_composition`] | `POST /ehr/{id}/composition` (`Prefer: return=minimal`, 201 or 204) |
//! | [`OpenEhrClient::get_composition`] | `GET /ehr/{id}/composition/{uid}` -> [`CompositionRead`] |
//! | [`OpenEhrClient::update_composition`] | `PUT /ehr/{id}/composition/{object id}` with `If-Match` (raw or quoted, per backend) |
//! | [`OpenEhrClient::delete_composition`] | `DELETE /ehr/{id}/composition/{preceding version uid}` |
//! | [`OpenEhrClient::query_aql`] | `POST /query/aql` `{q, query_parameters}` |
//! | [`OpenEhrClient::upload_template`] | `POST /definition/template/adl1.4` (XML, `Accept: application/xml`) |
//! | [`OpenEhrClient::list_templates`], [`OpenEhrClient::get_template`] | `GET /definition/template/adl1.4[/{id}]` |
//!
//! FLAT writes add `?format=FLAT&templateId=` (EHRbase's form; `format` is
//! case-sensitive there). Every call carries the backend's credentials
//! ([`auth`]); a 401 or 403 is never handed to callers as an answer but
//! becomes [`FacadeError::BackendAuth`] (502, naming the backend and
//! "authentication"), counted in [`ClientStats::auth_failures`]. Other
//! error statuses become [`FacadeError::Backend`] with the backend's
//! reason, except where a call documents what a status means (404 on a
//! lookup is `None`).
//!
//! # Layout
//! - this file: the transport ([`OpenEhrClient::call`]) and [`Answer`].
//! - [`auth`]: Basic, static bearer, OAuth2 client credentials.
//! - [`calls`]: the named REST calls.
//! - [`templates`]: a `TemplateStore` over this client.

pub mod auth;
pub mod calls;
pub mod oauth2;
pub mod templates;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

pub use self::auth::Credentials;
pub use self::calls::{CompositionRead, EhrCreated};

use super::error::FacadeError;
use crate::config::openehr::IfMatchForm;
use crate::upstream::exchange::{by_status, exchange, Health, Refused};
use crate::upstream::pool::Upstream;
use crate::upstream::ProxyBody;

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

/// Counters of one backend's client (read by `/metrics`).
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Calls the backend answered 401 or 403, or that had no usable
    /// credentials (token endpoint down, secret unreadable).
    pub auth_failures: AtomicU64,
}

/// How calls to one backend are made, beyond the upstream's own settings.
#[derive(Debug)]
pub struct ClientSettings {
    /// Largest response body read.
    pub max_body: u64,
    /// The credentials sent on every call.
    pub credentials: Credentials,
    /// The form of `If-Match` on updates.
    pub if_match: IfMatchForm,
}

/// The openEHR REST client of one backend (cheap to clone).
#[derive(Debug, Clone)]
pub struct OpenEhrClient {
    upstream: Arc<Upstream>,
    settings: Arc<ClientSettings>,
    stats: Arc<ClientStats>,
}

/// One request, before credentials and defaults are added.
#[derive(Debug)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// Path (below the backend URL) and query.
    pub path_and_query: &'a str,
    /// `Accept`.
    pub accept: &'static str,
    /// `Content-Type` of the body (ignored without one).
    pub content_type: &'static str,
    /// More headers (`Prefer`, `If-Match`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    /// The body.
    pub body: Option<Bytes>,
}

// === impl Call ===

impl<'a> Call<'a> {
    /// A JSON call without body.
    pub fn new(method: Method, path_and_query: &'a str) -> Self {
        Call {
            method,
            path_and_query,
            accept: "application/json",
            content_type: "application/json",
            headers: Vec::new(),
            body: None,
        }
    }

    /// With a JSON body.
    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(Bytes::from(body.to_string()));
        self
    }

    /// With a header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

// === impl OpenEhrClient ===

impl OpenEhrClient {
    /// A client over `upstream` with `settings`.
    pub fn new(upstream: Arc<Upstream>, settings: ClientSettings) -> Self {
        OpenEhrClient {
            upstream,
            settings: Arc::new(settings),
            stats: Arc::default(),
        }
    }

    /// A client for `backend` on its own (outside a running gateway: the
    /// contract suite against a real EHRbase, tools): its own upstream
    /// pool, TLS and credentials, files resolved with `resolve`.
    pub fn for_backend(
        backend: &crate::config::model::BackendConfig,
        resolve: &dyn Fn(&std::path::Path) -> std::path::PathBuf,
        max_body: u64,
    ) -> Result<OpenEhrClient, crate::upstream::pool::UpstreamError> {
        let upstream = Arc::new(Upstream::new(backend, resolve)?);
        let o = backend.openehr.clone().unwrap_or_default();
        let credentials =
            Credentials::from_config(o.auth.as_ref(), resolve, upstream.request_timeout);
        Ok(OpenEhrClient::new(
            upstream,
            ClientSettings {
                max_body,
                credentials,
                if_match: o.if_match,
            },
        ))
    }

    /// The upstream (its base URL is the REST API's base).
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// The backend's name (config), for messages and metrics.
    pub fn backend(&self) -> &str {
        &self.upstream.name
    }

    /// The client's counters.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The form of `If-Match` this backend takes.
    pub fn if_match_form(&self) -> IfMatchForm {
        self.settings.if_match
    }

    /// Percent-encodes a query value.
    pub fn q(v: &str) -> String {
        utf8_percent_encode(v, QUERY).to_string()
    }

    /// Percent-encodes a path segment.
    pub fn seg(v: &str) -> String {
        utf8_percent_encode(v, SEGMENT).to_string()
    }

    /// One call with the backend's credentials. Error statuses are
    /// returned as `Ok` (callers decide what a 404 means) except 401 and
    /// 403, which are [`FacadeError::BackendAuth`]; transport failures
    /// are errors. An OAuth2 token the backend refuses is dropped and the
    /// call tried once more with a fresh one (a refused call changed
    /// nothing, so repeating it is safe).
    pub async fn call(&self, call: Call<'_>) -> Result<Answer, FacadeError> {
        let a = self.send(&call).await?;
        if !is_auth_refusal(a.status) {
            return Ok(a);
        }
        let a = if self.settings.credentials.renewable() {
            self.settings.credentials.forget().await;
            self.send(&call).await?
        } else {
            a
        };
        if is_auth_refusal(a.status) {
            self.stats.auth_failures.fetch_add(1, Ordering::Relaxed);
            return Err(FacadeError::BackendAuth {
                backend: self.backend().to_owned(),
                status: a.status.as_u16(),
                scheme: self.settings.credentials.kind(),
            });
        }
        Ok(a)
    }

    /// [`call`](Self::call), turning error statuses into
    /// [`FacadeError::Backend`].
    pub async fn call_ok(&self, call: Call<'_>) -> Result<Answer, FacadeError> {
        let a = self.call(call).await?;
        if a.status.is_success() {
            Ok(a)
        } else {
            Err(backend_error(&a))
        }
    }

    async fn send(&self, call: &Call<'_>) -> Result<Answer, FacadeError> {
        let up = &self.upstream;
        // Asked before the credentials (an OAuth2 token is not fetched for
        // a backend that is down); the call policy asks again.
        if !up.health.available() {
            return Err(FacadeError::Unreachable("backend marked down"));
        }
        let authorization = match self.settings.credentials.header().await {
            Ok(h) => h,
            Err(reason) => {
                self.stats.auth_failures.fetch_add(1, Ordering::Relaxed);
                return Err(FacadeError::CredentialsUnavailable {
                    backend: self.backend().to_owned(),
                    reason,
                });
            }
        };
        let (path, query) = match call.path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (call.path_and_query, None),
        };
        let uri = up
            .uri_for(path, query)
            .map_err(|_| FacadeError::Internal("cannot build backend URI".into()))?;
        let body = call.body.clone();
        let has_body = body.is_some();
        let mut req = Request::new(body.map_or_else(ProxyBody::empty, ProxyBody::full));
        *req.method_mut() = call.method.clone();
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        h.insert(header::ACCEPT, HeaderValue::from_static(call.accept));
        if has_body {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(call.content_type),
            );
        }
        for (k, v) in &call.headers {
            h.insert(k.clone(), v.clone());
        }
        if let Some(a) = authorization {
            h.insert(header::AUTHORIZATION, a);
        }
        let max = self.settings.max_body as usize;
        let attempt = async {
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
        // The one call policy (availability, timeout, health): a 5xx or
        // no answer counts against the backend, anything else for it.
        let judge = |r: &Result<Answer, FacadeError>| match r {
            Ok(a) => by_status(a.status),
            Err(_) => Health::Bad,
        };
        match exchange(up, attempt, judge).await {
            Err(Refused::Unavailable) => Err(FacadeError::Unreachable("backend marked down")),
            Err(Refused::Timeout) => Err(FacadeError::Unreachable("timeout")),
            Err(Refused::Failed(e)) => Err(e),
            Ok(a) => Ok(a),
        }
    }
}

/// 401 (no or wrong credentials) and 403 (credentials without the role).
fn is_auth_refusal(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
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

    #[test]
    fn only_401_and_403_are_auth_refusals() {
        assert!(is_auth_refusal(StatusCode::UNAUTHORIZED));
        assert!(is_auth_refusal(StatusCode::FORBIDDEN));
        assert!(!is_auth_refusal(StatusCode::NOT_FOUND));
    }
}
