//! An openEHR REST backend as a template source.
//!
//! Uses the ADL 1.4 template API as EHRbase serves it:
//! `GET {base}/definition/template/adl1.4/{template_id}` returns the OPT XML
//! (`Accept: application/xml`), `GET {base}/definition/template/adl1.4`
//! returns a JSON list of `{template_id, concept, ...}`. A 404 means the
//! backend does not know the id (client fault); connection errors, timeouts,
//! other statuses and unparsable bodies are upstream faults.
//!
//! Plain `http://` only: TLS to backends is the gateway's connector
//! business and is not wired here yet.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{TemplateError, TemplateStore, TemplateSummary};
use crate::id::TemplateId;
use crate::meta::TemplateMeta;
use crate::opt::{parse_opt_with, OptLimits};

/// Everything but RFC 3986 unreserved characters is encoded in the id
/// segment: ids contain spaces, `/`-free punctuation and non-ASCII letters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Settings of a [`RestSource`].
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Base URL of the openEHR REST API, e.g.
    /// `http://ehrbase:8080/ehrbase/rest/openehr/v1` (no trailing slash needed).
    pub base: String,
    /// Time allowed for one request including the body.
    pub timeout: Duration,
    /// Largest response body accepted (also bounds the OPT).
    pub max_body_bytes: usize,
    /// Parser limits for the OPT.
    pub limits: OptLimits,
}

impl RestConfig {
    /// Defaults for `base`: 10 s timeout, 32 MiB bodies.
    pub fn new(base: impl Into<String>) -> Self {
        RestConfig {
            base: base.into(),
            timeout: Duration::from_secs(10),
            max_body_bytes: 32 * 1024 * 1024,
            limits: OptLimits::default(),
        }
    }
}

/// Templates fetched from an openEHR REST backend.
#[derive(Debug, Clone)]
pub struct RestSource {
    config: RestConfig,
    client: Client<HttpConnector, Empty<Bytes>>,
}

// === impl RestSource ===

impl RestSource {
    /// A source for `config.base`.
    pub fn new(config: RestConfig) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        RestSource { config, client }
    }

    fn url(&self, suffix: &str) -> Result<Uri, TemplateError> {
        let base = self.config.base.trim_end_matches('/');
        format!("{base}/definition/template/adl1.4{suffix}")
            .parse::<Uri>()
            .map_err(|e| TemplateError::Upstream(format!("invalid backend URL: {e}")))
    }

    /// GET `uri` with `accept`; returns the status and the bounded body.
    async fn fetch(&self, uri: Uri, accept: &str) -> Result<(StatusCode, Bytes), TemplateError> {
        let request = Request::get(uri)
            .header(header::ACCEPT, accept)
            .body(Empty::new())
            .map_err(|e| TemplateError::Upstream(format!("cannot build request: {e}")))?;
        let max = self.config.max_body_bytes;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| TemplateError::Upstream(format!("request failed: {e}")))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| TemplateError::Upstream(format!("reading body failed: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.config.timeout, exchange)
            .await
            .map_err(|_| TemplateError::Upstream("template backend timed out".into()))?
    }
}

#[async_trait::async_trait]
impl TemplateStore for RestSource {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        let encoded = utf8_percent_encode(id.as_str(), SEGMENT).to_string();
        let uri = self.url(&format!("/{encoded}"))?;
        let (status, body) = self.fetch(uri, "application/xml").await?;
        if status == StatusCode::NOT_FOUND {
            return Err(TemplateError::NotFound(id.clone()));
        }
        if !status.is_success() {
            return Err(TemplateError::Upstream(format!(
                "template backend answered {status}"
            )));
        }
        let limits = self.config.limits;
        let parsed = tokio::task::spawn_blocking(move || parse_opt_with(&body, &limits))
            .await
            .map_err(|e| TemplateError::Upstream(format!("parser task failed: {e}")))?;
        let meta = parsed.map_err(|error| TemplateError::InvalidUpstream {
            id: id.clone(),
            error,
        })?;
        super::check_declared_id(meta, id)
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        let (status, body) = self.fetch(self.url("")?, "application/json").await?;
        if !status.is_success() {
            return Err(TemplateError::Upstream(format!(
                "template listing answered {status}"
            )));
        }
        serde_json::from_slice(&body).map_err(|e| {
            TemplateError::Upstream(format!("template listing is not a JSON list: {e}"))
        })
    }
}
